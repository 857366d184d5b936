-- How many distinct orgs the planner assumes in the tables that are read org by org.
--
-- A prepared statement runs on a generic plan after five executions when that plan looks no
-- dearer than the custom ones. A generic plan cannot know which org it reads, so it estimates
-- `org_id = $1` as one org's share of the table: the table's rows divided by the distinct org ids
-- ANALYZE counted. While one org holds most of a table (a young deployment whose first customer
-- brought 10,000 members, or one bulk of 1,000 invitations), ANALYZE counts one or two orgs, and
-- the generic plan of every other org's statement reads the whole table: a single invitation to a
-- small org counted its seats with a sequential scan of all memberships (bench/README.md, "A
-- generic plan that read every org's members").
--
-- n_distinct = -0.2 fixes that count at one org per five rows, whatever ANALYZE samples:
-- generic plans of one org's read use the org's index. ANALYZE still keeps its most-common
-- values, so a custom plan for a large org still knows the org is large.
ALTER TABLE memberships ALTER COLUMN org_id SET (n_distinct = -0.2);
ALTER TABLE invitations ALTER COLUMN org_id SET (n_distinct = -0.2);
