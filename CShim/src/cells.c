/* The one table of VTK cell types a .mci mesh may hold and their point counts: the ParaView /
 * VTK reader and the Python package check cells with it, and the Swift side (MeshIO's
 * Mesh.pointCountRule, for what train reads and export writes) is tested equal to it. */
#include "mcinr.h"

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
