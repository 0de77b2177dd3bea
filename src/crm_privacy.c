/*-------------------------------------------------------------------------
 *
 * crm_privacy.c
 *	  Module entry point of the crm_privacy extension.
 *
 * _PG_init runs when the library is loaded, either from
 * shared_preload_libraries or on demand when one of the extension's C
 * functions is first called in a session.  It registers the security label
 * provider and the pseudonym key's cache invalidation, and reserves the
 * "crm_privacy." setting prefix.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/crm_privacy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "crm_privacy.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Register the label provider and the key cache; reserve crm_privacy. settings. */
void
_PG_init(void)
{
	crm_label_init();
	crm_pseudonym_init();

#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved(CRM_PROVIDER);
#else
	EmitWarningsOnPlaceholders(CRM_PROVIDER);
#endif
}
