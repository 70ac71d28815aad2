-- A state directory's engine.sqlite3 made by gitsync's engine before Alembic
-- (schema_version 2), dumped with sqlite3's iterdump: see test_store_migrations.py.
BEGIN TRANSACTION;
CREATE TABLE applications (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        session_id INTEGER NOT NULL, checksum TEXT NOT NULL, activated REAL NOT NULL,
        config TEXT NOT NULL, PRIMARY KEY (tenant, application, instance));
INSERT INTO "applications" VALUES('default','default','default',4,'6c80a82cf4f2d3b01310a4148ebb1955',1800000150.0,'{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":1}}],"import_path":"mod:app","name":"a","route_prefix":"/a"}]}');
INSERT INTO "applications" VALUES('team','svc','default',2,'e912828b1d80fc0b2ec2432aa12bdc2a',1800000210.0,'{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":7}}],"import_path":"mod:app","name":"t","route_prefix":"/t"}]}');
CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY, md5 TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL);
INSERT INTO "blobs" VALUES('36f2061ca1efce9f264c029c8bbe75432d78dbd9433ee5bc22fe1ff9607ce920','ed79e27f1899e15795a0021d8d91e121',165,X'6170706C69636174696F6E733A0A20202D206E616D653A20610A20202020726F7574655F7072656669783A202F610A20202020696D706F72745F706174683A206D6F643A6170700A202020206465706C6F796D656E74733A0A2020202020202D206E616D653A204D6F64656C0A20202020202020206E756D5F7265706C696361733A20310A2020202020202020757365725F636F6E6669673A207B70726963653A20317D0A');
INSERT INTO "blobs" VALUES('14f95ddd9b99cb81615382a0f25f9baf3e69eba017dcac92a30281f16b42d572','d8be0f8a024ddbb65ec27bc8d7db0a95',12,X'7072696E742827763127290A');
INSERT INTO "blobs" VALUES('44216a785140282040c5e2cadffff3a7b242a724f6ee661b6275c3dbaf5371f9','417b7082919e3183818960a434cc32ed',316,X'6170706C69636174696F6E733A0A20202D206E616D653A20610A20202020726F7574655F7072656669783A202F610A20202020696D706F72745F706174683A206D6F643A6170700A202020206465706C6F796D656E74733A0A2020202020202D206E616D653A204D6F64656C0A20202020202020206E756D5F7265706C696361733A20310A2020202020202020757365725F636F6E6669673A207B70726963653A20327D0A20202D206E616D653A20620A20202020726F7574655F7072656669783A202F620A20202020696D706F72745F706174683A206D6F643A6170700A202020206465706C6F796D656E74733A0A2020202020202D206E616D653A204D6F64656C0A20202020202020206E756D5F7265706C696361733A20310A2020202020202020757365725F636F6E6669673A207B70726963653A20327D0A');
INSERT INTO "blobs" VALUES('55a7d5d738359d1897ddd89a51c78ab2dcf27ca5b5d185ca21a447aae6cee408','de1aea651e12406834485dd6515b155f',12,X'7072696E742827763227290A');
INSERT INTO "blobs" VALUES('321de28f078d691b282b13ac4ffd3db9eeed23ec18e17ea712f853baeb59f8bf','41e9fab3a44069d056e7103cfeca6156',165,X'6170706C69636174696F6E733A0A20202D206E616D653A20740A20202020726F7574655F7072656669783A202F740A20202020696D706F72745F706174683A206D6F643A6170700A202020206465706C6F796D656E74733A0A2020202020202D206E616D653A204D6F64656C0A20202020202020206E756D5F7265706C696361733A20310A2020202020202020757365725F636F6E6669673A207B70726963653A20377D0A');
INSERT INTO "blobs" VALUES('05ee36041b5692fd6cabf7afc17931511884c739336f357994d605cfc9f945ab','785b77994c8618646e148cf0833b25a3',165,X'6170706C69636174696F6E733A0A20202D206E616D653A20610A20202020726F7574655F7072656669783A202F610A20202020696D706F72745F706174683A206D6F643A6170700A202020206465706C6F796D656E74733A0A2020202020202D206E616D653A204D6F64656C0A20202020202020206E756D5F7265706C696361733A20310A2020202020202020757365725F636F6E6669673A207B70726963653A20397D0A');
CREATE TABLE history (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        generation INTEGER NOT NULL, session_id INTEGER NOT NULL, time REAL NOT NULL,
        kind TEXT NOT NULL, revision TEXT NOT NULL, meta TEXT NOT NULL, summary TEXT NOT NULL,
        rollback_of INTEGER, health TEXT NOT NULL DEFAULT '', health_message TEXT NOT NULL DEFAULT '', PRIMARY KEY (tenant, application, instance, generation));
INSERT INTO "history" VALUES('default','default','default',2,2,1800000050.0,'deploy','rev1','{"author":"ann"}','{"create":1,"delete":0,"reconfigure":0,"restart":0,"scale":0}',NULL,'','');
INSERT INTO "history" VALUES('default','default','default',3,3,1800000100.0,'deploy','rev2','{"author":"bob"}','{"create":1,"delete":0,"reconfigure":1,"restart":0,"scale":0}',NULL,'','');
INSERT INTO "history" VALUES('default','default','default',4,4,1800000150.0,'rollback','rev1','{"author":"ann"}','{"create":0,"delete":1,"reconfigure":1,"restart":0,"scale":0}',2,'','');
INSERT INTO "history" VALUES('team','svc','default',2,2,1800000210.0,'deploy','075319e1a29b5867e070d9cfbbb683e81c9a0b6a727b731b0d59e8df12fb09b1','{}','{"create":1,"delete":0,"reconfigure":0,"restart":0,"scale":0}',NULL,'','');
CREATE TABLE history_files (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        generation INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL,
        PRIMARY KEY (tenant, application, instance, generation, path));
INSERT INTO "history_files" VALUES('default','default','default',2,'code/model.py','14f95ddd9b99cb81615382a0f25f9baf3e69eba017dcac92a30281f16b42d572');
INSERT INTO "history_files" VALUES('default','default','default',2,'serve.yaml','36f2061ca1efce9f264c029c8bbe75432d78dbd9433ee5bc22fe1ff9607ce920');
INSERT INTO "history_files" VALUES('default','default','default',3,'code/model.py','55a7d5d738359d1897ddd89a51c78ab2dcf27ca5b5d185ca21a447aae6cee408');
INSERT INTO "history_files" VALUES('default','default','default',3,'serve.yaml','44216a785140282040c5e2cadffff3a7b242a724f6ee661b6275c3dbaf5371f9');
INSERT INTO "history_files" VALUES('default','default','default',4,'code/model.py','14f95ddd9b99cb81615382a0f25f9baf3e69eba017dcac92a30281f16b42d572');
INSERT INTO "history_files" VALUES('default','default','default',4,'serve.yaml','36f2061ca1efce9f264c029c8bbe75432d78dbd9433ee5bc22fe1ff9607ce920');
INSERT INTO "history_files" VALUES('team','svc','default',2,'serve.yaml','321de28f078d691b282b13ac4ffd3db9eeed23ec18e17ea712f853baeb59f8bf');
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO "schema_version" VALUES(2);
CREATE TABLE serve_apps (
        tenant TEXT NOT NULL, application TEXT NOT NULL, instance TEXT NOT NULL,
        name TEXT NOT NULL, route_prefix TEXT, config TEXT NOT NULL, digest TEXT NOT NULL,
        last_deployed REAL NOT NULL, generation INTEGER NOT NULL,
        PRIMARY KEY (tenant, application, instance, name));
INSERT INTO "serve_apps" VALUES('default','default','default','a','/a','{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":1}}],"import_path":"mod:app","name":"a","route_prefix":"/a"}','c5aa9e341fd759b3165af5db56f80c2e',1800000150.0,4);
INSERT INTO "serve_apps" VALUES('team','svc','default','t','/t','{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":7}}],"import_path":"mod:app","name":"t","route_prefix":"/t"}','3f9b03c0557ccfed7b21f3cda92b0316',1800000210.0,2);
CREATE TABLE session_files (
        tenant TEXT NOT NULL, session_id INTEGER NOT NULL, path TEXT NOT NULL,
        kind TEXT NOT NULL, sha256 TEXT, status TEXT NOT NULL,
        PRIMARY KEY (tenant, session_id, path));
INSERT INTO "session_files" VALUES('default',2,'serve.yaml','file','36f2061ca1efce9f264c029c8bbe75432d78dbd9433ee5bc22fe1ff9607ce920','new');
INSERT INTO "session_files" VALUES('default',2,'code/model.py','file','14f95ddd9b99cb81615382a0f25f9baf3e69eba017dcac92a30281f16b42d572','new');
INSERT INTO "session_files" VALUES('default',3,'serve.yaml','file','44216a785140282040c5e2cadffff3a7b242a724f6ee661b6275c3dbaf5371f9','new');
INSERT INTO "session_files" VALUES('default',3,'code/model.py','file','55a7d5d738359d1897ddd89a51c78ab2dcf27ca5b5d185ca21a447aae6cee408','new');
INSERT INTO "session_files" VALUES('default',4,'code/model.py','file','14f95ddd9b99cb81615382a0f25f9baf3e69eba017dcac92a30281f16b42d572','new');
INSERT INTO "session_files" VALUES('default',4,'serve.yaml','file','36f2061ca1efce9f264c029c8bbe75432d78dbd9433ee5bc22fe1ff9607ce920','new');
INSERT INTO "session_files" VALUES('team',2,'serve.yaml','file','321de28f078d691b282b13ac4ffd3db9eeed23ec18e17ea712f853baeb59f8bf','new');
INSERT INTO "session_files" VALUES('default',5,'serve.yaml','file','05ee36041b5692fd6cabf7afc17931511884c739336f357994d605cfc9f945ab','new');
CREATE TABLE sessions (
        tenant TEXT NOT NULL, id INTEGER NOT NULL, status TEXT NOT NULL,
        application TEXT NOT NULL, instance TEXT NOT NULL,
        created REAL NOT NULL, changed REAL NOT NULL, previous_active INTEGER NOT NULL,
        prepared TEXT, config TEXT, PRIMARY KEY (tenant, id));
INSERT INTO "sessions" VALUES('default',2,'DEACTIVATED','default','default',1800000010.0,1800000100.0,0,'{"actions":{"create":["a"],"delete":[],"reconfigure":[],"refeed":[],"reindex":[],"restart":[],"scale":[]},"app_digests":{"a":"c5aa9e341fd759b3165af5db56f80c2e"},"checksum":"6c80a82cf4f2d3b01310a4148ebb1955","code_digests":{},"log":[],"revision":"dda7b5957d9727fabe9b39d5b7142eb93076055dceb417920543646e53154c45","route_prefixes":{"a":"/a"}}','{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":1}}],"import_path":"mod:app","name":"a","route_prefix":"/a"}]}');
INSERT INTO "sessions" VALUES('default',3,'DEACTIVATED','default','default',1800000060.0,1800000150.0,2,'{"actions":{"create":["b"],"delete":[],"reconfigure":[{"application":"a","deployment":"Model","fields":["deployments.Model.user_config.price"]}],"refeed":[],"reindex":[],"restart":[],"scale":[]},"app_digests":{"a":"a7de68710670b392f58b32abecc8c8d7","b":"ed3e5dee5f0af5f24b0015c8701cf1fd"},"checksum":"997fe37a2af62daf57d164d097f2bb00","code_digests":{},"log":[],"revision":"233ccb38d3bbcc43909db1b6872615759a8b02ec6417ab821302d4c63ef05588","route_prefixes":{"a":"/a","b":"/b"}}','{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":2}}],"import_path":"mod:app","name":"a","route_prefix":"/a"},{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":2}}],"import_path":"mod:app","name":"b","route_prefix":"/b"}]}');
INSERT INTO "sessions" VALUES('default',4,'ACTIVE','default','default',1800000110.0,1800000150.0,3,'{"actions":{"create":[],"delete":["b"],"reconfigure":[{"application":"a","deployment":"Model","fields":["deployments.Model.user_config.price"]}],"refeed":[],"reindex":[],"restart":[],"scale":[]},"app_digests":{"a":"c5aa9e341fd759b3165af5db56f80c2e"},"checksum":"6c80a82cf4f2d3b01310a4148ebb1955","code_digests":{},"log":[],"revision":"dda7b5957d9727fabe9b39d5b7142eb93076055dceb417920543646e53154c45","route_prefixes":{"a":"/a"}}','{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":1}}],"import_path":"mod:app","name":"a","route_prefix":"/a"}]}');
INSERT INTO "sessions" VALUES('team',2,'ACTIVE','svc','default',1800000170.0,1800000210.0,0,'{"actions":{"create":["t"],"delete":[],"reconfigure":[],"refeed":[],"reindex":[],"restart":[],"scale":[]},"app_digests":{"t":"3f9b03c0557ccfed7b21f3cda92b0316"},"checksum":"e912828b1d80fc0b2ec2432aa12bdc2a","code_digests":{},"log":[],"revision":"075319e1a29b5867e070d9cfbbb683e81c9a0b6a727b731b0d59e8df12fb09b1","route_prefixes":{"t":"/t"}}','{"applications":[{"deployments":[{"name":"Model","num_replicas":1,"user_config":{"price":7}}],"import_path":"mod:app","name":"t","route_prefix":"/t"}]}');
INSERT INTO "sessions" VALUES('default',5,'NEW','default','default',1800000220.0,1800000220.0,4,NULL,NULL);
CREATE TABLE tenants (
        name TEXT PRIMARY KEY, created REAL NOT NULL, last_session INTEGER NOT NULL);
INSERT INTO "tenants" VALUES('default',1800000000.0,5);
INSERT INTO "tenants" VALUES('team',1800000160.0,2);
CREATE INDEX session_files_sha ON session_files (sha256);
CREATE INDEX history_files_sha ON history_files (sha256);
COMMIT;
