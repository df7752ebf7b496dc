#ifndef RELYD_CPOSTGRES_SHIM_H
#define RELYD_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#endif
