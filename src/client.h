/*
 * client.h: the ACM PCA client userdata (client.c).
 */
#ifndef ACMPCA_CLIENT_H
#define ACMPCA_CLIENT_H

#include "compat.h"

#define ACMPCA_CLIENT_MT "acmpca.client"

#endif
