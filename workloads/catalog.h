/* workloads/catalog.h: the workload catalog (catalog.def) as a C enum, so
 * that a table can refer to a workload without spelling its name. */
#ifndef GREEN_CATALOG_H
#define GREEN_CATALOG_H

enum workload_id {
#define WORKLOAD(id, ...) WL_##id,
#include "catalog.def"
#undef WORKLOAD
    WL_COUNT
};

#endif /* GREEN_CATALOG_H */
