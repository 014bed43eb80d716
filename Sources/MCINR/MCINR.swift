// MCINR module
