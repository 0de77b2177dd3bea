-- bench/crm_distribute.sql -- after bench/crm_data.sql: on a Citus
-- coordinator, distribute the generated CRM (customer by customer_id, orders
-- co-located with it); on a single server, only the same primary key, so
-- that both hold the same tables (doc/scale.md).  A distributed table's
-- primary key must include its distribution column.
ALTER TABLE orders DROP CONSTRAINT orders_pkey, ADD PRIMARY KEY (customer_id, order_id);
SELECT pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL AS citus \gset
\if :citus
SELECT create_distributed_table('customer', 'customer_id');
SELECT create_distributed_table('orders', 'customer_id', colocate_with => 'customer');
\endif
