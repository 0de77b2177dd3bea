/*-------------------------------------------------------------------------
 *
 * crm_privacy.h
 *	  Declarations shared by the C files of the crm_privacy extension.
 *
 * Copyright (c) 2026, The crm_privacy Developers
 *
 * IDENTIFICATION
 *	  src/crm_privacy.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef CRM_PRIVACY_H
#define CRM_PRIVACY_H

/* Name of the security label provider, the GUC prefix and the schema. */
#define CRM_PROVIDER		"crm_privacy"
#define CRM_SCHEMA			"privacy"

/* label.c */
extern void crm_label_init(void);

/* pseudonym.c */
extern void crm_pseudonym_init(void);

/* views.c */
extern void crm_refresh(Oid relid);
extern void crm_drop_views_of(Oid relid);

#endif							/* CRM_PRIVACY_H */
