-- bench/crm_labels.sql -- crm_privacy labels of the generated CRM
-- (bench/crm_data.sql).  Used by the demo and the benchmarks.
-- customer.marketing_notes is left unlabelled on purpose: privacy by default
-- hides it everywhere but the full view until someone labels it.

SECURITY LABEL FOR crm_privacy ON TABLE customer IS 'subject key=customer_id k=5';
SECURITY LABEL FOR crm_privacy ON TABLE orders   IS 'related subject=public.customer key=customer_id';

SECURITY LABEL FOR crm_privacy ON COLUMN customer.customer_id    IS 'identifier level=internal mask=keep anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.full_name      IS 'identifier mask=name';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.gender         IS 'quasi_identifier mask=keep anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.birth_date     IS 'quasi_identifier mask=generalize(year) anon=generalize(decade)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.mobile         IS 'identifier mask=phone anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.email          IS 'identifier mask=email anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.id_number      IS 'identifier level=secret mask=cn_id';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.zip            IS 'quasi_identifier mask=partial(3,0) anon=partial(3,0)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.city           IS 'quasi_identifier level=public mask=keep anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.income         IS 'personal level=confidential anon=generalize(10000)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.ethnicity      IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.religion       IS 'sensitive';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.loyalty_points IS 'personal mask=keep anon=noise(0.1)';
SECURITY LABEL FOR crm_privacy ON COLUMN customer.signup_at      IS 'public';

SECURITY LABEL FOR crm_privacy ON COLUMN orders.order_id         IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.customer_id      IS 'identifier level=internal mask=keep anon=pseudonym';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.ordered_at       IS 'personal mask=keep anon=generalize(month)';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.product          IS 'personal mask=keep anon=keep';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.channel          IS 'public';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.amount           IS 'personal mask=keep anon=generalize(10)';
SECURITY LABEL FOR crm_privacy ON COLUMN orders.shipping_address IS 'identifier mask=partial(2,0)';
