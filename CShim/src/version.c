#include "mcinr.h"
const char *mcinr_version(void) { return MCINR_VERSION_STRING; }
