/* The one table of VTK cell types a .mci mesh may hold and their point counts, and the one cell
 * check built on it (mci_check_cell): the decoder applies it to every cell at open, the ParaView /
 * VTK reader and the Python package check cells with the table, and the Swift side (MeshIO's
 * Mesh.pointCountRule and Mesh.validate, for what train reads and export writes) is tested equal
 * to it. */
#include "mcinr_internal.h"

int mcinr_cell_point_count(unsigned char type, int *min_points) {
    int exact, minimum;
    switch (type) {
    case 1: exact = 1; minimum = 1; break;            /* vertex */
    case 2: exact = 0; minimum = 1; break;            /* poly-vertex */
    case 3: exact = 2; minimum = 2; break;            /* line */
    case 4: exact = 0; minimum = 2; break;            /* poly-line */
    case 5: exact = 3; minimum = 3; break;            /* triangle */
    case 6: case 7: exact = 0; minimum = 3; break;    /* triangle strip, polygon */
    case 8: case 9: case 10: exact = 4; minimum = 4; break; /* pixel, quad, tetrahedron */
    case 11: case 12: exact = 8; minimum = 8; break;  /* voxel, hexahedron */
    case 13: exact = 6; minimum = 6; break;           /* wedge */
    case 14: exact = 5; minimum = 5; break;           /* pyramid */
    case 15: exact = 10; minimum = 10; break;         /* pentagonal prism */
    case 16: exact = 12; minimum = 12; break;         /* hexagonal prism */
    case 21: exact = 3; minimum = 3; break;           /* quadratic edge */
    case 22: exact = 6; minimum = 6; break;           /* quadratic triangle */
    case 23: exact = 8; minimum = 8; break;           /* quadratic quad */
    case 24: exact = 10; minimum = 10; break;         /* quadratic tetrahedron */
    case 25: exact = 20; minimum = 20; break;         /* quadratic hexahedron */
    case 26: exact = 15; minimum = 15; break;         /* quadratic wedge */
    case 27: exact = 13; minimum = 13; break;         /* quadratic pyramid */
    default: exact = -1; minimum = 0; break;
    }
    if (min_points) *min_points = minimum;
    return exact;
}

/* One cell of a mesh at open (mcinr_internal.h): the rule of MeshIO's Mesh.validate. */
int mci_check_cell(uint64_t cell, unsigned char type, const uint32_t *points, size_t count, uint64_t num_points,
                   char *msg, size_t msg_len) {
    int minimum;
    int exact = mcinr_cell_point_count(type, &minimum);
    if (exact < 0) {
        mci_set_error(msg, msg_len, "cell %llu has VTK cell type %u, which the .mci readers do not support",
                      (unsigned long long)cell, type);
        return -1;
    }
    if (exact > 0 ? count != (size_t)exact : count < (size_t)minimum) {
        mci_set_error(msg, msg_len, "cell %llu of VTK cell type %u has %zu points (%s%d expected)",
                      (unsigned long long)cell, type, count, exact > 0 ? "" : "at least ", exact > 0 ? exact : minimum);
        return -1;
    }
    for (size_t j = 0; j < count; j++)
        if (points[j] >= num_points) {
            mci_set_error(msg, msg_len, "cell %llu uses point %u (its point %zu), but the mesh has %llu points",
                          (unsigned long long)cell, points[j], j, (unsigned long long)num_points);
            return -1;
        }
    if (type == MCI_CELL_TETRA) {
        const uint32_t *p = points;
        if (p[0] == p[1] || p[0] == p[2] || p[0] == p[3] || p[1] == p[2] || p[1] == p[3] || p[2] == p[3]) {
            mci_set_error(msg, msg_len, "cell %llu, a tetrahedron, repeats a point (%u %u %u %u): degenerate",
                          (unsigned long long)cell, p[0], p[1], p[2], p[3]);
            return -1;
        }
    }
    return 0;
}
