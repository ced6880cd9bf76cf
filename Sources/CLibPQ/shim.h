#ifndef SOOT_CLIBPQ_SHIM_H
#define SOOT_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
