BEGIN TRANSACTION;
CREATE TABLE pk_entry (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL,
    txn_id BLOB NOT NULL,
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL,
    debt INTEGER NOT NULL,
    posted_change INTEGER NOT NULL,
    PRIMARY KEY (program_id, member, currency, version)
) STRICT;
INSERT INTO "pk_entry" VALUES('golden','alice','points',1,X'019CA8BBB5C070BAA22156D2698C143B',500,0,0,500);
INSERT INTO "pk_entry" VALUES('golden','bob','points',1,X'019CA8BBB5C073D5B106CD72BA03FEDE',300,0,0,300);
INSERT INTO "pk_entry" VALUES('golden','alice','points',2,X'019CD1EE95C07EEE87155659E77FDD5A',500,200,0,0);
INSERT INTO "pk_entry" VALUES('golden','alice','points',3,X'019CD1EE95C078EDBFAF0F2D0F171748',350,0,0,-150);
INSERT INTO "pk_entry" VALUES('golden','bob','points',2,X'019CD1EE95C07D2EB537D1EB856640D4',300,50,0,0);
INSERT INTO "pk_entry" VALUES('golden','bob','points',3,X'019CD1EE95C076429D67FA4F5BFAEB38',200,50,0,-100);
INSERT INTO "pk_entry" VALUES('golden','carol','points',1,X'019CD1EE95C076429D67FA4F5BFAEB38',100,0,0,100);
INSERT INTO "pk_entry" VALUES('golden','alice','points',4,X'019CD1EE95C0704FB20A08D7710B246F',-150,0,150,-500);
INSERT INTO "pk_entry" VALUES('golden','bob','points',4,X'019F1AF9B4007D38AD8FDDA69936939F',150,0,0,-50);
INSERT INTO "pk_entry" VALUES('golden','bob','points',5,X'019F1AF9B4007717BE5D3D370A6BF6DB',0,0,0,-150);
INSERT INTO "pk_entry" VALUES('golden','carol','points',2,X'019F1AF9B4007262909B7DF314B1F167',0,0,0,-100);
CREATE TABLE pk_hold (
    program_id TEXT NOT NULL,
    hold_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    allocations TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'captured', 'released', 'expired')),
    captured INTEGER NOT NULL,
    resolved_by BLOB,
    PRIMARY KEY (program_id, hold_id)
) STRICT;
INSERT INTO "pk_hold" VALUES('golden',X'019CD1EE95C07EEE87155659E77FDD5A','alice','points',200,1773048600000000,1773049200000000,'[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",200]]','captured',150,X'019CD1EE95C078EDBFAF0F2D0F171748');
INSERT INTO "pk_hold" VALUES('golden',X'019CD1EE95C07D2EB537D1EB856640D4','bob','points',50,1773048600000000,1773049200000000,'[["019ca8bb-b5c0-73ae-a7be-45d848a96af2",50]]','expired',0,X'019F1AF9B4007D38AD8FDDA69936939F');
CREATE TABLE pk_lot (
    program_id TEXT NOT NULL,
    lot_id BLOB NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    remaining INTEGER NOT NULL,
    held INTEGER NOT NULL,
    expired INTEGER NOT NULL CHECK (expired >= 0),
    earned_at INTEGER NOT NULL,
    available_at INTEGER NOT NULL,
    expires_at INTEGER,
    expiry_order INTEGER NOT NULL
        GENERATED ALWAYS AS (COALESCE(expires_at, 9223372036854775807)) VIRTUAL,
    source BLOB NOT NULL,
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
) STRICT;
INSERT INTO "pk_lot" VALUES('golden',X'019CA8BBB5C07755AE2F98163A1FB4E2','alice','points',500,0,0,0,1772357400000000,1772962200000000,1798732800000000,X'019CA8BBB5C070BAA22156D2698C143B');
INSERT INTO "pk_lot" VALUES('golden',X'019CA8BBB5C073AEA7BE45D848A96AF2','bob','points',300,0,0,200,1772357400000000,1772357400000000,1782835200000000,X'019CA8BBB5C073D5B106CD72BA03FEDE');
INSERT INTO "pk_lot" VALUES('golden',X'019CD1EE95C07A319BDB88BD08FD4239','carol','points',100,0,0,100,1773048600000000,1773048600000000,1782835200000000,X'019CD1EE95C076429D67FA4F5BFAEB38');
CREATE TABLE pk_posting (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    account_kind TEXT NOT NULL,
    member TEXT,
    currency TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('posted', 'pending')),
    amount INTEGER NOT NULL CHECK (amount <> 0),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (program_id, txn_id, seq)
) STRICT;
INSERT INTO "pk_posting" VALUES('golden',X'019CA8BBB5C070BAA22156D2698C143B',0,'issuance',NULL,'points','posted',-500,1772357400000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CA8BBB5C070BAA22156D2698C143B',1,'member','alice','points','posted',500,1772357400000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CA8BBB5C073D5B106CD72BA03FEDE',0,'issuance',NULL,'points','posted',-300,1772357400000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CA8BBB5C073D5B106CD72BA03FEDE',1,'member','bob','points','posted',300,1772357400000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C07EEE87155659E77FDD5A',0,'member','alice','points','pending',-200,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C07EEE87155659E77FDD5A',1,'redemption',NULL,'points','pending',200,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C078EDBFAF0F2D0F171748',0,'member','alice','points','pending',200,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C078EDBFAF0F2D0F171748',1,'redemption',NULL,'points','pending',-200,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C078EDBFAF0F2D0F171748',2,'member','alice','points','posted',-150,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C078EDBFAF0F2D0F171748',3,'redemption',NULL,'points','posted',150,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C07D2EB537D1EB856640D4',0,'member','bob','points','pending',-50,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C07D2EB537D1EB856640D4',1,'redemption',NULL,'points','pending',50,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C076429D67FA4F5BFAEB38',0,'member','bob','points','posted',-100,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C076429D67FA4F5BFAEB38',1,'member','carol','points','posted',100,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C0704FB20A08D7710B246F',0,'issuance',NULL,'points','posted',500,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019CD1EE95C0704FB20A08D7710B246F',1,'member','alice','points','posted',-500,1773048600000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007D38AD8FDDA69936939F',0,'member','bob','points','pending',50,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007D38AD8FDDA69936939F',1,'redemption',NULL,'points','pending',-50,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007D38AD8FDDA69936939F',2,'expired',NULL,'points','posted',50,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007D38AD8FDDA69936939F',3,'member','bob','points','posted',-50,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007717BE5D3D370A6BF6DB',0,'expired',NULL,'points','posted',150,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007717BE5D3D370A6BF6DB',1,'member','bob','points','posted',-150,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007262909B7DF314B1F167',0,'expired',NULL,'points','posted',100,1782864000000000);
INSERT INTO "pk_posting" VALUES('golden',X'019F1AF9B4007262909B7DF314B1F167',1,'member','carol','points','posted',-100,1782864000000000);
CREATE TABLE pk_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
INSERT INTO "pk_schema" VALUES(1,1795517863);
CREATE TABLE pk_txn (
    program_id TEXT NOT NULL,
    txn_id BLOB NOT NULL,
    idem_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    reverses BLOB,
    body TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, txn_id),
    UNIQUE (program_id, idem_key)
) STRICT;
INSERT INTO "pk_txn" VALUES('golden',X'019CA8BBB5C070BAA22156D2698C143B','order-1','earn',1772357400000000,NULL,'{"amount":500,"created_at":1772357400000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019ca8bb-b5c0-70ba-a221-56d2698c143b","key":"order-1","kind":"earn","lot_moves":[],"lots_created":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2","alice","points",500,500,0,0,1772357400000000,1772962200000000,1798732800000000,"019ca8bb-b5c0-70ba-a221-56d2698c143b"]],"metadata":[["channel","app"]],"postings":[["issuance",null,"posted",-500],["member","alice","posted",500]],"reason":"order 1","request":[["command","earn"],["amount","500"],["available_at","\"2026-03-08T09:30:00+00:00\""],["currency","\"points\""],["expires_at","\"2026-12-31T16:00:00+00:00\""],["member","\"alice\""],["metadata","{\"channel\": \"app\"}"],["reason","\"order 1\""]],"reverses":null,"v":1,"wallet_changes":[["alice",1,500,0,0,500]]}',X'8FFCFEB5FAA36A0C49E985C9A5CA7259970AFA3B1207FEABCDD504D02DFAEA84');
INSERT INTO "pk_txn" VALUES('golden',X'019CA8BBB5C073D5B106CD72BA03FEDE','order-2','earn',1772357400000000,NULL,'{"amount":300,"created_at":1772357400000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019ca8bb-b5c0-73d5-b106-cd72ba03fede","key":"order-2","kind":"earn","lot_moves":[],"lots_created":[["019ca8bb-b5c0-73ae-a7be-45d848a96af2","bob","points",300,300,0,0,1772357400000000,1772357400000000,1782835200000000,"019ca8bb-b5c0-73d5-b106-cd72ba03fede"]],"metadata":[],"postings":[["issuance",null,"posted",-300],["member","bob","posted",300]],"reason":null,"request":[["command","earn"],["amount","300"],["available_at","null"],["currency","\"points\""],["expires_at","\"2026-06-30T16:00:00+00:00\""],["member","\"bob\""],["metadata","{}"],["reason","null"]],"reverses":null,"v":1,"wallet_changes":[["bob",1,300,0,0,300]]}',X'C843331161880458D0D4B55E173664F66861826398CBE3071AA92312439E2E6C');
INSERT INTO "pk_txn" VALUES('golden',X'019CD1EE95C07EEE87155659E77FDD5A','hold-1','reserve',1773048600000000,NULL,'{"amount":200,"created_at":1773048600000000,"currency":"points","debt_moves":[],"hold":"019cd1ee-95c0-7eee-8715-5659e77fdd5a","hold_expires_at":1773049200000000,"id":"019cd1ee-95c0-7eee-8715-5659e77fdd5a","key":"hold-1","kind":"reserve","lot_moves":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",0,200,0,"hold"]],"lots_created":[],"metadata":[],"postings":[["member","alice","pending",-200],["redemption",null,"pending",200]],"reason":null,"request":[["command","reserve"],["amount","200"],["currency","\"points\""],["member","\"alice\""],["metadata","{}"],["reason","null"],["timeout_seconds","600"]],"reverses":null,"v":1,"wallet_changes":[["alice",2,500,200,0,0]]}',X'2BD37077C3406A1381CCFD000A56BCA543D56FCD498B149D4AE5F2E17EB80ED1');
INSERT INTO "pk_txn" VALUES('golden',X'019CD1EE95C078EDBFAF0F2D0F171748','ship-1','capture',1773048600000000,NULL,'{"amount":150,"created_at":1773048600000000,"currency":"points","debt_moves":[],"hold":"019cd1ee-95c0-7eee-8715-5659e77fdd5a","hold_expires_at":null,"id":"019cd1ee-95c0-78ed-bfaf-0f2d0f171748","key":"ship-1","kind":"capture","lot_moves":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",-150,-200,0,"capture"]],"lots_created":[],"metadata":[],"postings":[["member","alice","pending",200],["redemption",null,"pending",-200],["member","alice","posted",-150],["redemption",null,"posted",150]],"reason":null,"request":[["command","capture"],["amount","150"],["hold","\"019cd1ee-95c0-7eee-8715-5659e77fdd5a\""],["metadata","{}"],["reason","null"]],"reverses":null,"v":1,"wallet_changes":[["alice",3,350,0,0,-150]]}',X'A811F26D7D4B558AC770561341A3BDDABFBD1F265C87AF33BF99CBC3723B2B18');
INSERT INTO "pk_txn" VALUES('golden',X'019CD1EE95C07D2EB537D1EB856640D4','hold-2','reserve',1773048600000000,NULL,'{"amount":50,"created_at":1773048600000000,"currency":"points","debt_moves":[],"hold":"019cd1ee-95c0-7d2e-b537-d1eb856640d4","hold_expires_at":1773049200000000,"id":"019cd1ee-95c0-7d2e-b537-d1eb856640d4","key":"hold-2","kind":"reserve","lot_moves":[["019ca8bb-b5c0-73ae-a7be-45d848a96af2",0,50,0,"hold"]],"lots_created":[],"metadata":[],"postings":[["member","bob","pending",-50],["redemption",null,"pending",50]],"reason":null,"request":[["command","reserve"],["amount","50"],["currency","\"points\""],["member","\"bob\""],["metadata","{}"],["reason","null"],["timeout_seconds","600"]],"reverses":null,"v":1,"wallet_changes":[["bob",2,300,50,0,0]]}',X'369B1713012AAB5BB8BE758F635C76D17E4C7B05FF8CA31336AE30A8D91E4351');
INSERT INTO "pk_txn" VALUES('golden',X'019CD1EE95C076429D67FA4F5BFAEB38','gift-1','transfer',1773048600000000,NULL,'{"amount":100,"created_at":1773048600000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019cd1ee-95c0-7642-9d67-fa4f5bfaeb38","key":"gift-1","kind":"transfer","lot_moves":[["019ca8bb-b5c0-73ae-a7be-45d848a96af2",-100,0,0,"spend"]],"lots_created":[["019cd1ee-95c0-7a31-9bdb-88bd08fd4239","carol","points",100,100,0,0,1773048600000000,1773048600000000,1782835200000000,"019cd1ee-95c0-7642-9d67-fa4f5bfaeb38"]],"metadata":[],"postings":[["member","bob","posted",-100],["member","carol","posted",100]],"reason":null,"request":[["command","transfer"],["amount","100"],["currency","\"points\""],["metadata","{}"],["reason","null"],["recipient","\"carol\""],["sender","\"bob\""]],"reverses":null,"v":1,"wallet_changes":[["bob",3,200,50,0,-100],["carol",1,100,0,0,100]]}',X'B4A452BC0FF5A3F474A96A635B116EC5FB537417C4E13C820E2D2DB37B0E2D36');
INSERT INTO "pk_txn" VALUES('golden',X'019CD1EE95C0704FB20A08D7710B246F','refund-1','reversal',1773048600000000,X'019CA8BBB5C070BAA22156D2698C143B','{"amount":500,"created_at":1773048600000000,"currency":"points","debt_moves":[["alice",150]],"hold":null,"hold_expires_at":null,"id":"019cd1ee-95c0-704f-b20a-08d7710b246f","key":"refund-1","kind":"reversal","lot_moves":[["019ca8bb-b5c0-7755-ae2f-98163a1fb4e2",-350,0,0,"clawback"]],"lots_created":[],"metadata":[],"postings":[["issuance",null,"posted",500],["member","alice","posted",-500]],"reason":null,"request":[["command","reverse"],["amount","null"],["clawback","\"debt\""],["metadata","{}"],["reason","null"],["reissue_expires_at","null"],["restore","\"original_expiry\""],["transaction","\"019ca8bb-b5c0-70ba-a221-56d2698c143b\""]],"reverses":"019ca8bb-b5c0-70ba-a221-56d2698c143b","v":1,"wallet_changes":[["alice",4,-150,0,150,-500]]}',X'09BE7B9E8A0133B8D58550EDB16B7E816B24885BDA77ADEE8A7BECC7B673EC18');
INSERT INTO "pk_txn" VALUES('golden',X'019F1AF9B4007D38AD8FDDA69936939F','pointkit:hold-timeout:019cd1ee-95c0-7d2e-b537-d1eb856640d4','hold_timeout',1782864000000000,NULL,'{"amount":50,"created_at":1782864000000000,"currency":"points","debt_moves":[],"hold":"019cd1ee-95c0-7d2e-b537-d1eb856640d4","hold_expires_at":null,"id":"019f1af9-b400-7d38-ad8f-dda69936939f","key":"pointkit:hold-timeout:019cd1ee-95c0-7d2e-b537-d1eb856640d4","kind":"hold_timeout","lot_moves":[["019ca8bb-b5c0-73ae-a7be-45d848a96af2",0,-50,0,"release"],["019ca8bb-b5c0-73ae-a7be-45d848a96af2",-50,0,50,"expire"]],"lots_created":[],"metadata":[],"postings":[["member","bob","pending",50],["redemption",null,"pending",-50],["expired",null,"posted",50],["member","bob","posted",-50]],"reason":"hold timed out","request":[["command","hold_timeout"],["hold","\"019cd1ee-95c0-7d2e-b537-d1eb856640d4\""]],"reverses":null,"v":1,"wallet_changes":[["bob",4,150,0,0,-50]]}',X'CCE9FDC342375B4503AA336B7834FE8EAA7A7EE5DD52B3938102C19E3A3EF21E');
INSERT INTO "pk_txn" VALUES('golden',X'019F1AF9B4007717BE5D3D370A6BF6DB','pointkit:expiry:019ca8bb-b5c0-73ae-a7be-45d848a96af2','expiry',1782864000000000,NULL,'{"amount":150,"created_at":1782864000000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019f1af9-b400-7717-be5d-3d370a6bf6db","key":"pointkit:expiry:019ca8bb-b5c0-73ae-a7be-45d848a96af2","kind":"expiry","lot_moves":[["019ca8bb-b5c0-73ae-a7be-45d848a96af2",-150,0,150,"expire"]],"lots_created":[],"metadata":[],"postings":[["expired",null,"posted",150],["member","bob","posted",-150]],"reason":"lot expired","request":[["command","expiry"],["lot","\"019ca8bb-b5c0-73ae-a7be-45d848a96af2\""]],"reverses":null,"v":1,"wallet_changes":[["bob",5,0,0,0,-150]]}',X'CC6EB36697856B493BB286814B1D77A84C70B2F533EB94B6E534B71E91BE83E7');
INSERT INTO "pk_txn" VALUES('golden',X'019F1AF9B4007262909B7DF314B1F167','pointkit:expiry:019cd1ee-95c0-7a31-9bdb-88bd08fd4239','expiry',1782864000000000,NULL,'{"amount":100,"created_at":1782864000000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019f1af9-b400-7262-909b-7df314b1f167","key":"pointkit:expiry:019cd1ee-95c0-7a31-9bdb-88bd08fd4239","kind":"expiry","lot_moves":[["019cd1ee-95c0-7a31-9bdb-88bd08fd4239",-100,0,100,"expire"]],"lots_created":[],"metadata":[],"postings":[["expired",null,"posted",100],["member","carol","posted",-100]],"reason":"lot expired","request":[["command","expiry"],["lot","\"019cd1ee-95c0-7a31-9bdb-88bd08fd4239\""]],"reverses":null,"v":1,"wallet_changes":[["carol",2,0,0,0,-100]]}',X'88BC8CC82F1AC50A016725840B6565EB6B036542C8E4B29C1675F43B5A4DC3C9');
CREATE TABLE pk_wallet (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    posted INTEGER NOT NULL,
    held INTEGER NOT NULL CHECK (held >= 0),
    debt INTEGER NOT NULL CHECK (debt >= 0),
    PRIMARY KEY (program_id, member, currency)
) STRICT;
INSERT INTO "pk_wallet" VALUES('golden','alice','points',4,-150,0,150);
INSERT INTO "pk_wallet" VALUES('golden','bob','points',5,0,0,0);
INSERT INTO "pk_wallet" VALUES('golden','carol','points',2,0,0,0);
CREATE INDEX pk_txn_reverses ON pk_txn (program_id, reverses) WHERE reverses IS NOT NULL;
CREATE INDEX pk_posting_account ON pk_posting (program_id, account_kind, currency, phase);
CREATE TRIGGER pk_txn_balanced BEFORE INSERT ON pk_txn
WHEN EXISTS (
    SELECT 1 FROM pk_posting
    WHERE program_id = NEW.program_id AND txn_id = NEW.txn_id
    GROUP BY phase HAVING SUM(amount) <> 0
)
BEGIN SELECT RAISE(ABORT, 'pointkit: the postings of a transaction must sum to zero'); END;
CREATE INDEX pk_lot_open ON pk_lot (program_id, member, currency, expiry_order, available_at, lot_id)
    WHERE remaining > 0;
CREATE INDEX pk_lot_due ON pk_lot (program_id, expires_at, lot_id)
    WHERE remaining > held AND expires_at IS NOT NULL;
CREATE INDEX pk_hold_open ON pk_hold (program_id, expires_at, hold_id) WHERE status = 'open';
CREATE TRIGGER pk_txn_no_update BEFORE UPDATE ON pk_txn
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_txn is append-only'); END;
CREATE TRIGGER pk_txn_no_delete BEFORE DELETE ON pk_txn
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_txn is append-only'); END;
CREATE TRIGGER pk_posting_no_update BEFORE UPDATE ON pk_posting
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_posting is append-only'); END;
CREATE TRIGGER pk_posting_no_delete BEFORE DELETE ON pk_posting
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_posting is append-only'); END;
CREATE TRIGGER pk_entry_no_update BEFORE UPDATE ON pk_entry
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_entry is append-only'); END;
CREATE TRIGGER pk_entry_no_delete BEFORE DELETE ON pk_entry
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_entry is append-only'); END;
COMMIT;
