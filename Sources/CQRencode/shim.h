#ifndef MAMORI_CQRENCODE_SHIM_H
#define MAMORI_CQRENCODE_SHIM_H

// Why this file exists: the system module map needs one header to import; libqrencode's API is
// plain C (no variadics), so nothing else is wrapped.
#include <qrencode.h>

#endif
