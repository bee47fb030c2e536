-- The Hive Metastore's catalogs in Flink SQL (catalog: hive), at
-- /opt/flink/conf/init-catalogs.sql of every Flink container: run it at the start of a
-- session, e.g. `bin/sql-client.sh -i conf/init-catalogs.sql`.
-- demo_hv: Flink's Hive catalog (hive-site.xml in /opt/flink/conf, $HIVE_CONF_DIR);
-- demo_ib: Iceberg tables in the same metastore.
CREATE CATALOG demo_hv WITH (
  'type' = 'hive',
  'hive-conf-dir' = '/opt/flink/conf',
  'default-database' = 'default'
);

CREATE CATALOG demo_ib WITH (
  'type' = 'iceberg',
  'catalog-type' = 'hive',
  'uri' = 'thrift://hive-metastore:9083'
);
