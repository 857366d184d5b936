-- 0026 on a database whose tables Citus has distributed already (src/db/migrate.ts applies this
-- twin instead of 0026_tenant_key_statistics.sql there): Citus refuses ALTER TABLE … ALTER COLUMN
-- … SET (n_distinct) on a distributed table ("alter table command is currently unsupported").
-- So nothing is done here: such a cluster keeps the planner's own estimate. A fresh Citus database
-- gets the setting on its tables before they are distributed (plain migrations run first, then
-- the placement step). The generic-plan case that 0026 addresses was measured on PostgreSQL only.
SELECT 1;
