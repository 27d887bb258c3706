-- A SQLite database written by pointkit at schema version 3, before records kept their
-- increments: the packaged points mall as program 'golden-v3', where 'ann' signs in twice,
-- redeems a coupon and cancels it, redeems another and draws once. Never edit it:
-- tests/test_audit_records.py upgrades it and audits it.
BEGIN TRANSACTION;
CREATE TABLE pk_budget (
    program_id TEXT NOT NULL,
    name TEXT NOT NULL,
    used INTEGER NOT NULL CHECK (used >= 0),
    PRIMARY KEY (program_id, name)
) STRICT;
INSERT INTO "pk_budget" VALUES('golden-v3','pointkit:stock:offer:coupon',1);
INSERT INTO "pk_budget" VALUES('golden-v3','pointkit:stock:lottery:wheel:phone',0);
INSERT INTO "pk_budget" VALUES('golden-v3','pointkit:stock:lottery:wheel:tablet',0);
INSERT INTO "pk_budget" VALUES('golden-v3','pointkit:stock:lottery:wheel:trip',0);
CREATE TABLE pk_counter (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    points INTEGER NOT NULL,
    tasks INTEGER NOT NULL CHECK (tasks >= 0),
    PRIMARY KEY (program_id, member, scope, period)
) STRICT;
INSERT INTO "pk_counter" VALUES('golden-v3','ann','program','day:2026-06-01',1,1);
INSERT INTO "pk_counter" VALUES('golden-v3','ann','program','day:2026-06-02',2,1);
INSERT INTO "pk_counter" VALUES('golden-v3','ann','pointkit:offer:coupon','day:2026-06-03',0,1);
INSERT INTO "pk_counter" VALUES('golden-v3','ann','pointkit:draws:wheel','day:2026-06-03',0,1);
INSERT INTO "pk_counter" VALUES('golden-v3','ann','pointkit:pity:wheel','lifetime',0,1);
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
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',1,X'019E80E8C900756DB6BB651E7D17159B',5000,0,0,5000);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',2,X'019E80E8C90076A096ADE2388586C388',5001,0,0,1);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',3,X'019E860F25007143A98E63072E7C477C',5003,0,0,2);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',4,X'019E8B3581007F21948541FF08026C8F',5003,800,0,0);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',5,X'019E8B3581007880AF2DD6B298F56E6E',5003,0,0,0);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',6,X'019E8B3581007758B9A6788F90BDFC3D',5003,800,0,0);
INSERT INTO "pk_entry" VALUES('golden-v3','ann','points',7,X'019E8B3581007AFABCA50355FD1BC870',4003,800,0,-1000);
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
INSERT INTO "pk_hold" VALUES('golden-v3',X'019E8B3581007F21948541FF08026C8F','ann','points',800,1780452000000000,1780455600000000,'[["019e80e8-c900-722f-aec4-9f68b06ea8c6",1],["019e80e8-c900-7df7-85a3-fa09fc895c9b",799]]','released',0,X'019E8B3581007880AF2DD6B298F56E6E');
INSERT INTO "pk_hold" VALUES('golden-v3',X'019E8B3581007758B9A6788F90BDFC3D','ann','points',800,1780452000000000,1780455600000000,'[["019e80e8-c900-722f-aec4-9f68b06ea8c6",1],["019e80e8-c900-7df7-85a3-fa09fc895c9b",799]]','open',0,NULL);
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
    source BLOB NOT NULL, follows_activity INTEGER NOT NULL DEFAULT 0
    CHECK (follows_activity IN (0, 1)),
    PRIMARY KEY (program_id, lot_id),
    CHECK (0 <= held AND held <= remaining),
    CHECK (remaining + expired <= amount)
) STRICT;
INSERT INTO "pk_lot" VALUES('golden-v3',X'019E80E8C9007DF785A3FA09FC895C9B','ann','points',5000,4000,799,0,1780279200000000,1780279200000000,1798732800000000,X'019E80E8C900756DB6BB651E7D17159B',0);
INSERT INTO "pk_lot" VALUES('golden-v3',X'019E80E8C900722FAEC49F68B06EA8C6','ann','points',1,1,1,0,1780279200000000,1780279200000000,1798732800000000,X'019E80E8C90076A096ADE2388586C388',0);
INSERT INTO "pk_lot" VALUES('golden-v3',X'019E860F2500727B8D4E6BBDA13CD1AB','ann','points',2,2,0,0,1780365600000000,1780365600000000,1798732800000000,X'019E860F25007143A98E63072E7C477C',0);
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
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E80E8C900756DB6BB651E7D17159B',0,'adjustment',NULL,'points','posted',-5000,1780279200000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E80E8C900756DB6BB651E7D17159B',1,'member','ann','points','posted',5000,1780279200000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E80E8C90076A096ADE2388586C388',0,'issuance',NULL,'points','posted',-1,1780279200000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E80E8C90076A096ADE2388586C388',1,'member','ann','points','posted',1,1780279200000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E860F25007143A98E63072E7C477C',0,'issuance',NULL,'points','posted',-2,1780365600000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E860F25007143A98E63072E7C477C',1,'member','ann','points','posted',2,1780365600000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007F21948541FF08026C8F',0,'member','ann','points','pending',-800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007F21948541FF08026C8F',1,'redemption',NULL,'points','pending',800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007880AF2DD6B298F56E6E',0,'member','ann','points','pending',800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007880AF2DD6B298F56E6E',1,'redemption',NULL,'points','pending',-800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007758B9A6788F90BDFC3D',0,'member','ann','points','pending',-800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007758B9A6788F90BDFC3D',1,'redemption',NULL,'points','pending',800,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007AFABCA50355FD1BC870',0,'lottery',NULL,'points','posted',1000,1780452000000000);
INSERT INTO "pk_posting" VALUES('golden-v3',X'019E8B3581007AFABCA50355FD1BC870',1,'member','ann','points','posted',-1000,1780452000000000);
CREATE TABLE pk_rule_event (
    program_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    member TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    decision TEXT NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (program_id, event_id)
) STRICT;
INSERT INTO "pk_rule_event" VALUES('golden-v3','sign-in-0','ann','sign_in',1780279200000000,'{"awards":[{"currency":"points","points":1,"rule":"sign-in"}],"budgets":[],"counters":[{"period":"day:2026-06-01","points":1,"scope":"program","tasks":1}],"event":{"at":"2026-06-01T02:00:00+00:00","attributes":{},"id":"sign-in-0","kind":"sign_in","member":"ann"},"explanations":[{"conditions":null,"points":1,"reasons":[],"rule":"sign-in","status":"awarded","trail":[{"label":"base","note":"fixed 0","op":"base","result":0,"value":0},{"label":"streak day 1","note":"ladder 1/2/3/5/10","op":"add","result":1,"value":1},{"label":"program cap 100/day","note":"100 left","op":"limit","result":1,"value":100}]}],"streaks":[{"last_day":"2026-06-01","length":1,"rule":"sign-in"}]}',X'EF46A8B6421B3476188521575F8771A7C74A062F32B4B39870B4B1C72F4AC402');
INSERT INTO "pk_rule_event" VALUES('golden-v3','sign-in-1','ann','sign_in',1780365600000000,'{"awards":[{"currency":"points","points":2,"rule":"sign-in"}],"budgets":[],"counters":[{"period":"day:2026-06-02","points":2,"scope":"program","tasks":1}],"event":{"at":"2026-06-02T02:00:00+00:00","attributes":{},"id":"sign-in-1","kind":"sign_in","member":"ann"},"explanations":[{"conditions":null,"points":2,"reasons":[],"rule":"sign-in","status":"awarded","trail":[{"label":"base","note":"fixed 0","op":"base","result":0,"value":0},{"label":"streak day 2","note":"ladder 1/2/3/5/10","op":"add","result":2,"value":2},{"label":"program cap 100/day","note":"100 left","op":"limit","result":2,"value":100}]}],"streaks":[{"last_day":"2026-06-02","length":2,"rule":"sign-in"}]}',X'DD583B19CC3826CD047E1544B94E65B4E3EF87CF37D55CADB709DE1E7842E3D1');
INSERT INTO "pk_rule_event" VALUES('golden-v3','pointkit:redemption:019e8b35-8100-7f21-9485-41ff08026c8f','ann','offer_redemption',1780452000000000,'{"cash": null, "counters": [["pointkit:offer:coupon", "day:2026-06-03"]], "currency": "points", "key": "coupon-1", "offer": "coupon", "option": "points", "points": 800, "quantity": 1, "refund": "original_expiry", "stock": "pointkit:stock:offer:coupon"}',X'416480F4CCFE12B218D9EFC17A2154CE1BF8202C809042313B949D466FAAD2D5');
INSERT INTO "pk_rule_event" VALUES('golden-v3','pointkit:redemption-return:019e8b35-8100-7f21-9485-41ff08026c8f','ann','offer_return',1780452000000000,'{"hold": "019e8b35-8100-7f21-9485-41ff08026c8f", "quantity": 1}',X'4842861533615051CE265042C5BCEBE818616693A6DD18C686AE341B526B22E4');
INSERT INTO "pk_rule_event" VALUES('golden-v3','pointkit:redemption:019e8b35-8100-7758-b9a6-788f90bdfc3d','ann','offer_redemption',1780452000000000,'{"cash": null, "counters": [["pointkit:offer:coupon", "day:2026-06-03"]], "currency": "points", "key": "coupon-2", "offer": "coupon", "option": "points", "points": 800, "quantity": 1, "refund": "original_expiry", "stock": "pointkit:stock:offer:coupon"}',X'174E30E6DBB61D1072377B5E0F1FCD5D1D0DF54BDD54D26C71509A429BEBE491');
INSERT INTO "pk_rule_event" VALUES('golden-v3','pointkit:draw:draw-1','ann','lottery_draw',1780452000000000,'{"at":"2026-06-03T02:00:00+00:00","cost":1000,"draw_id":"draw-1","fairness":null,"kind":"coupon","lottery":"wheel","member":"ann","odds":[["trip",1],["phone",10],["tablet",50],["card",2000],["coupon",97939]],"pity_after":1,"pity_before":0,"points_back":0,"prize":"coupon","table_hash":"1a69a696099fa9f6dd037977471a2c4decbadba68e69cc8d2088e01c1178bd08","transaction":"019e8b35-8100-7afa-bca5-0355fd1bc870","value":42445}',X'6136882D82DADE95CEEF9187F4555FAA7B38D877128B9165837BD624F650788B');
CREATE TABLE pk_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;
INSERT INTO "pk_schema" VALUES(1,1796389718);
INSERT INTO "pk_schema" VALUES(2,1796389718);
INSERT INTO "pk_schema" VALUES(3,1796389718);
CREATE TABLE pk_streak (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    rule TEXT NOT NULL,
    last_day TEXT NOT NULL,
    length INTEGER NOT NULL CHECK (length > 0),
    PRIMARY KEY (program_id, member, rule)
) STRICT;
INSERT INTO "pk_streak" VALUES('golden-v3','ann','sign-in','2026-06-02',2);
CREATE TABLE pk_tier (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    tier TEXT NOT NULL,
    since INTEGER NOT NULL,
    next_review INTEGER,
    grace_until INTEGER,
    never_downgrade INTEGER NOT NULL CHECK (never_downgrade IN (0, 1)),
    PRIMARY KEY (program_id, member)
) STRICT;
INSERT INTO "pk_tier" VALUES('golden-v3','ann',1,'normal',1780279200000000,1798732800000000,NULL,0);
CREATE TABLE pk_tier_change (
    program_id TEXT NOT NULL,
    member TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    metric INTEGER,
    PRIMARY KEY (program_id, member, seq)
) STRICT;
INSERT INTO "pk_tier_change" VALUES('golden-v3','ann',1,1780279200000000,NULL,'normal','joined',1);
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
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E80E8C900756DB6BB651E7D17159B','gift-ann','adjustment',1780279200000000,NULL,'{"amount":5000,"created_at":1780279200000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019e80e8-c900-756d-b6bb-651e7d17159b","key":"gift-ann","kind":"adjustment","lot_moves":[],"lots_created":[["019e80e8-c900-7df7-85a3-fa09fc895c9b","ann","points",5000,5000,0,0,1780279200000000,1780279200000000,1798732800000000,"019e80e8-c900-756d-b6bb-651e7d17159b"]],"metadata":[],"postings":[["adjustment",null,"posted",-5000],["member","ann","posted",5000]],"reason":"opening balance","request":[["command","adjustment"],["amount","5000"],["available_at","null"],["currency","\"points\""],["expires_at","null"],["member","\"ann\""],["metadata","{}"],["reason","\"opening balance\""]],"reverses":null,"v":1,"wallet_changes":[["ann",1,5000,0,0,5000]]}',X'C568966B7DCB1C4FB59ED31D1F787DD0462B48036ED4015EB805DA411F72AA84');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E80E8C90076A096ADE2388586C388','pointkit:event:sign-in-0:sign-in','earn',1780279200000000,NULL,'{"amount":1,"created_at":1780279200000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019e80e8-c900-76a0-96ad-e2388586c388","key":"pointkit:event:sign-in-0:sign-in","kind":"earn","lot_moves":[],"lots_created":[["019e80e8-c900-722f-aec4-9f68b06ea8c6","ann","points",1,1,0,0,1780279200000000,1780279200000000,1798732800000000,"019e80e8-c900-76a0-96ad-e2388586c388"]],"metadata":[["event","sign-in-0"],["rule","sign-in"]],"postings":[["issuance",null,"posted",-1],["member","ann","posted",1]],"reason":"rule sign-in","request":[["command","rule_award"],["event","\"sign-in-0\""],["points","1"],["rule","\"sign-in\""]],"reverses":null,"v":1,"wallet_changes":[["ann",2,5001,0,0,1]]}',X'D013CFCDDAFFAB5AC35A834B43459799A8A6EF1A878E639576072A283F62F654');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E860F25007143A98E63072E7C477C','pointkit:event:sign-in-1:sign-in','earn',1780365600000000,NULL,'{"amount":2,"created_at":1780365600000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019e860f-2500-7143-a98e-63072e7c477c","key":"pointkit:event:sign-in-1:sign-in","kind":"earn","lot_moves":[],"lots_created":[["019e860f-2500-727b-8d4e-6bbda13cd1ab","ann","points",2,2,0,0,1780365600000000,1780365600000000,1798732800000000,"019e860f-2500-7143-a98e-63072e7c477c"]],"metadata":[["event","sign-in-1"],["rule","sign-in"]],"postings":[["issuance",null,"posted",-2],["member","ann","posted",2]],"reason":"rule sign-in","request":[["command","rule_award"],["event","\"sign-in-1\""],["points","2"],["rule","\"sign-in\""]],"reverses":null,"v":1,"wallet_changes":[["ann",3,5003,0,0,2]]}',X'258084901D2B73218DFF388D9E15152E7DD76AC2ED79008725E7BCB9110E8449');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E8B3581007F21948541FF08026C8F','coupon-1','reserve',1780452000000000,NULL,'{"amount":800,"created_at":1780452000000000,"currency":"points","debt_moves":[],"hold":"019e8b35-8100-7f21-9485-41ff08026c8f","hold_expires_at":1780455600000000,"id":"019e8b35-8100-7f21-9485-41ff08026c8f","key":"coupon-1","kind":"reserve","lot_moves":[["019e80e8-c900-722f-aec4-9f68b06ea8c6",0,1,0,"hold"],["019e80e8-c900-7df7-85a3-fa09fc895c9b",0,799,0,"hold"]],"lots_created":[],"metadata":[],"postings":[["member","ann","pending",-800],["redemption",null,"pending",800]],"reason":"offer coupon","request":[["command","redeem_offer"],["amount","800"],["cash","null"],["currency","\"points\""],["member","\"ann\""],["metadata","{}"],["offer","\"coupon\""],["option","\"points\""],["quantity","1"],["reason","\"offer coupon\""],["tier","\"normal\""],["timeout_seconds","3600"]],"reverses":null,"v":1,"wallet_changes":[["ann",4,5003,800,0,0]]}',X'CBA5F431DF9126380D8E9F7BEFCA69B37062BAEEB7002BF7D693515D7863D3D3');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E8B3581007880AF2DD6B298F56E6E','cancel-1','release',1780452000000000,NULL,'{"amount":800,"created_at":1780452000000000,"currency":"points","debt_moves":[],"hold":"019e8b35-8100-7f21-9485-41ff08026c8f","hold_expires_at":null,"id":"019e8b35-8100-7880-af2d-d6b298f56e6e","key":"cancel-1","kind":"release","lot_moves":[["019e80e8-c900-722f-aec4-9f68b06ea8c6",0,-1,0,"release"],["019e80e8-c900-7df7-85a3-fa09fc895c9b",0,-799,0,"release"]],"lots_created":[],"metadata":[],"postings":[["member","ann","pending",800],["redemption",null,"pending",-800]],"reason":"offer coupon cancelled","request":[["command","release"],["hold","\"019e8b35-8100-7f21-9485-41ff08026c8f\""],["metadata","{}"],["reason","\"offer coupon cancelled\""]],"reverses":null,"v":1,"wallet_changes":[["ann",5,5003,0,0,0]]}',X'5E2F128890611B055405EAD55EBFAB1BF1934BD6867AD255DF920D5704750DBE');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E8B3581007758B9A6788F90BDFC3D','coupon-2','reserve',1780452000000000,NULL,'{"amount":800,"created_at":1780452000000000,"currency":"points","debt_moves":[],"hold":"019e8b35-8100-7758-b9a6-788f90bdfc3d","hold_expires_at":1780455600000000,"id":"019e8b35-8100-7758-b9a6-788f90bdfc3d","key":"coupon-2","kind":"reserve","lot_moves":[["019e80e8-c900-722f-aec4-9f68b06ea8c6",0,1,0,"hold"],["019e80e8-c900-7df7-85a3-fa09fc895c9b",0,799,0,"hold"]],"lots_created":[],"metadata":[],"postings":[["member","ann","pending",-800],["redemption",null,"pending",800]],"reason":"offer coupon","request":[["command","redeem_offer"],["amount","800"],["cash","null"],["currency","\"points\""],["member","\"ann\""],["metadata","{}"],["offer","\"coupon\""],["option","\"points\""],["quantity","1"],["reason","\"offer coupon\""],["tier","\"normal\""],["timeout_seconds","3600"]],"reverses":null,"v":1,"wallet_changes":[["ann",6,5003,800,0,0]]}',X'A18AC90EDCA5B8380A239CAA4E811009F9614891026F059D49B453866A2171A4');
INSERT INTO "pk_txn" VALUES('golden-v3',X'019E8B3581007AFABCA50355FD1BC870','draw-1','draw',1780452000000000,NULL,'{"amount":1000,"created_at":1780452000000000,"currency":"points","debt_moves":[],"hold":null,"hold_expires_at":null,"id":"019e8b35-8100-7afa-bca5-0355fd1bc870","key":"draw-1","kind":"draw","lot_moves":[["019e80e8-c900-7df7-85a3-fa09fc895c9b",-1000,0,0,"spend"]],"lots_created":[],"metadata":[],"postings":[["lottery",null,"posted",1000],["member","ann","posted",-1000]],"reason":"lottery wheel","request":[["command","draw"],["cost","1000"],["lottery","\"wheel\""],["member","\"ann\""],["metadata","{}"],["reason","\"lottery wheel\""],["table","\"1a69a696099fa9f6dd037977471a2c4decbadba68e69cc8d2088e01c1178bd08\""]],"reverses":null,"v":1,"wallet_changes":[["ann",7,4003,800,0,-1000]]}',X'5A875791EF5F10EC72F9D182FFA18B04421C941DCF9DAC0C6B15CBCF2F2FADEE');
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
INSERT INTO "pk_wallet" VALUES('golden-v3','ann','points',7,4003,800,0);
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
CREATE INDEX pk_lot_expiring ON pk_lot (program_id, expires_at, member, currency, lot_id)
    WHERE remaining > 0 AND expires_at IS NOT NULL;
CREATE INDEX pk_posting_member ON pk_posting (program_id, member, currency, created_at)
    WHERE member IS NOT NULL;
CREATE TRIGGER pk_tier_change_no_update BEFORE UPDATE ON pk_tier_change
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_tier_change is append-only'); END;
CREATE TRIGGER pk_tier_change_no_delete BEFORE DELETE ON pk_tier_change
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_tier_change is append-only'); END;
CREATE TRIGGER pk_rule_event_no_update BEFORE UPDATE ON pk_rule_event
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_rule_event is append-only'); END;
CREATE TRIGGER pk_rule_event_no_delete BEFORE DELETE ON pk_rule_event
BEGIN SELECT RAISE(ABORT, 'pointkit: pk_rule_event is append-only'); END;
COMMIT;
