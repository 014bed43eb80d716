// INRCore module
