-- A results database written by aichaos 0.1 (before Alembic; commit 16ba227): two
-- `aichaos run` of a mock target and `aichaos compare RUN --pin`, dumped with
-- sqlite3's iterdump. tests/store/test_store_migrations.py upgrades it.
BEGIN TRANSACTION;
CREATE TABLE baselines (
	experiment TEXT NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	pinned_at FLOAT NOT NULL, 
	note TEXT, 
	PRIMARY KEY (experiment)
);
INSERT INTO "baselines" VALUES('legacy mock bot','20261204T183007Z-066f2a',1.79640902449278855321e+09,NULL);
CREATE TABLE cases (
	id INTEGER NOT NULL, 
	run_id VARCHAR(64) NOT NULL, 
	layer INTEGER NOT NULL, 
	suite VARCHAR(64) NOT NULL, 
	case_id VARCHAR(200) NOT NULL, 
	variant VARCHAR(200) NOT NULL, 
	input TEXT, 
	expected TEXT, 
	output TEXT, 
	passed BOOLEAN, 
	score FLOAT, 
	scores TEXT, 
	error_class VARCHAR(32), 
	error TEXT, 
	status INTEGER, 
	e2e_s FLOAT, 
	ttft_s FLOAT, 
	input_tokens INTEGER, 
	output_tokens INTEGER, 
	finish_reason VARCHAR(32), 
	seed INTEGER, 
	metadata TEXT, 
	created_at FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (run_id)
);
INSERT INTO "cases" VALUES(1,'20261204T183007Z-066f2a',0,'steady_state.before','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,2.42260000504757044836e-05,2.42260000504757044836e-05,NULL,NULL,NULL,1,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.79640900755915164949e+09);
INSERT INTO "cases" VALUES(2,'20261204T183007Z-066f2a',1,'capability','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,1.58029999965947354212e-05,1.58029999965947354212e-05,NULL,NULL,NULL,1,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.79640900759188532824e+09);
INSERT INTO "cases" VALUES(3,'20261204T183007Z-066f2a',1,'capability','order','clean','Where is my order?','["shipped"]','I can''t see orders.',0,0.0,'{"contains": 0.0}',NULL,NULL,NULL,3.43499993959994753822e-06,3.43499993959994753822e-06,NULL,NULL,NULL,1,'{"explanation": "none of 1 expected fragments", "itl_s": [], "token_source": null}',1.79640900759408283235e+09);
INSERT INTO "cases" VALUES(4,'20261204T183007Z-066f2a',1,'capability','pii','clean','Contact me at <EMAIL> about my refund','["refund"]','I will email <EMAIL> about the refund.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,1.63649999649351229891e-05,1.63649999649351229891e-05,NULL,NULL,NULL,1,'{"explanation": "contains ''refund''", "itl_s": [], "token_source": null}',1.79640900759545302386e+09);
INSERT INTO "cases" VALUES(5,'20261204T183007Z-066f2a',0,'steady_state.after','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,1.64939999649504898115e-05,1.64939999649504898115e-05,NULL,NULL,NULL,1,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.79640900759986352924e+09);
INSERT INTO "cases" VALUES(6,'20261204T183016Z-a8c730',0,'steady_state.before','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,2.35449999763659434393e-05,2.35449999763659434393e-05,NULL,NULL,NULL,2,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.79640901628775286674e+09);
INSERT INTO "cases" VALUES(7,'20261204T183016Z-a8c730',1,'capability','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,1.65650000099049066193e-05,1.65650000099049066193e-05,NULL,NULL,NULL,2,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.7964090163078246117e+09);
INSERT INTO "cases" VALUES(8,'20261204T183016Z-a8c730',1,'capability','pii','clean','Contact me at <EMAIL> about my refund','["refund"]','I will email <EMAIL> about the refund.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,9.95499999589810613542e-06,9.95499999589810613542e-06,NULL,NULL,NULL,2,'{"explanation": "contains ''refund''", "itl_s": [], "token_source": null}',1.79640901630941987035e+09);
INSERT INTO "cases" VALUES(9,'20261204T183016Z-a8c730',1,'capability','order','clean','Where is my order?','["shipped"]','I can''t see orders.',0,0.0,'{"contains": 0.0}',NULL,NULL,NULL,5.51799996628687949851e-06,5.51799996628687949851e-06,NULL,NULL,NULL,2,'{"explanation": "none of 1 expected fragments", "itl_s": [], "token_source": null}',1.79640901631030082703e+09);
INSERT INTO "cases" VALUES(10,'20261204T183016Z-a8c730',0,'steady_state.after','refund','clean','How long do refunds take?','["5 business days"]','Refunds take 5 business days.',1,1.0,'{"contains": 1.0}',NULL,NULL,NULL,8.6830000327609013766e-06,8.6830000327609013766e-06,NULL,NULL,NULL,2,'{"explanation": "contains ''5 business days''", "itl_s": [], "token_source": null}',1.79640901631926894191e+09);
CREATE TABLE runs (
	run_id VARCHAR(64) NOT NULL, 
	title TEXT NOT NULL, 
	seed INTEGER, 
	status VARCHAR(16), 
	deviated BOOLEAN, 
	started_at FLOAT, 
	ended_at FLOAT, 
	experiment TEXT, 
	scorecard TEXT, 
	overall_score FLOAT, 
	overall_grade VARCHAR(2), 
	PRIMARY KEY (run_id)
);
INSERT INTO "runs" VALUES('20261204T183007Z-066f2a','legacy mock bot',1,'completed',0,1.79640900739466810231e+09,1.79640900760289692885e+09,'{"version": 1, "title": "legacy mock bot", "description": null, "tags": [], "dependencies": {}, "dataset": "/tmp/legacyrun/data.yaml", "steady-state-hypothesis": {"title": "healthy", "sample": 1, "slos": {"success_rate": {"min": 0.99, "max": null}, "latency_p95_s": null, "ttft_p95_s": null, "answer_score": null}}, "layers": {"capability": {"enabled": true, "scorer": {"type": "contains"}, "limit": null, "pass_threshold": 0.5}, "input_resilience": null, "integration": null, "safety": null, "observability": null, "scale": null}, "runtime": {"seed": 1, "otlp_endpoint": null, "concurrency": 2, "rollbacks": {"strategy": "always"}, "abort": {"error_rate": null}}, "store": {"url": null, "mask_pii": true}, "report": {"dir": "aichaos-results", "formats": ["json"]}, "target": {"type": "mock", "answers": 3}, "source": "/tmp/legacyrun/exp.yaml"}','{"overall": {"score": 66.7, "grade": "D", "weakest_layer": "capability", "measured_layers": 1, "layers": 6}, "layers": [{"layer": 1, "key": "capability", "title": "Model capability", "score": 66.7, "grade": "D", "measured": true, "note": "only 3 cases: the 95% CI of accuracy spans 21%-94%, so the grade could be anywhere from F to A; add cases for a firmer verdict; based on only 3 requests: the grade is indicative, not a firm verdict; raise the layer''s limit for one", "metrics": {"accuracy": 0.6666666666666666, "accuracy_ci_low": 0.20765960080204782, "accuracy_ci_high": 0.9385080552796038, "cases": 3, "mean_score": 0.6666666666666666, "error_rate": 0.0, "scorer": "contains", "latency_p50_s": 1.5802999996594735e-05, "latency_p95_s": 1.6308799968101084e-05, "ttft_p50_s": 1.5802999996594735e-05, "ttft_p95_s": 1.6308799968101084e-05}, "checks": [{"name": "capability.accuracy", "passed": false, "value": 0.6666666666666666, "threshold": ">= 0.7", "unit": "ratio", "message": "2/3 cases passed (95% CI 0.21-0.94)", "cases": ["order"]}, {"name": "capability.errors", "passed": true, "value": 0.0, "threshold": "== 0", "unit": "ratio", "message": "0/3 requests errored", "cases": []}], "failing": [{"case_id": "order", "variant": "clean", "input": "Where is my order?", "output": "I can''t see orders.", "reason": "none of 1 expected fragments", "reproduce": "aichaos replay 20261204T183007Z-066f2a --case order --variant clean"}], "details": {"scores": [1.0, 0.0, 1.0]}}, {"layer": 2, "key": "input_resilience", "title": "Input resilience", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 3, "key": "integration", "title": "Integration reliability", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 4, "key": "safety", "title": "Safety & governance", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 5, "key": "observability", "title": "Observability", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 6, "key": "scale", "title": "Scalability & cost", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}]}',66.7,'D');
INSERT INTO "runs" VALUES('20261204T183016Z-a8c730','legacy mock bot',2,'completed',0,1.79640901619150805471e+09,1.79640901632155919071e+09,'{"version": 1, "title": "legacy mock bot", "description": null, "tags": [], "dependencies": {}, "dataset": "/tmp/legacyrun/data.yaml", "steady-state-hypothesis": {"title": "healthy", "sample": 1, "slos": {"success_rate": {"min": 0.99, "max": null}, "latency_p95_s": null, "ttft_p95_s": null, "answer_score": null}}, "layers": {"capability": {"enabled": true, "scorer": {"type": "contains"}, "limit": null, "pass_threshold": 0.5}, "input_resilience": null, "integration": null, "safety": null, "observability": null, "scale": null}, "runtime": {"seed": 2, "otlp_endpoint": null, "concurrency": 2, "rollbacks": {"strategy": "always"}, "abort": {"error_rate": null}}, "store": {"url": null, "mask_pii": true}, "report": {"dir": "aichaos-results", "formats": ["json"]}, "target": {"type": "mock", "answers": 3}, "source": "/tmp/legacyrun/exp.yaml"}','{"overall": {"score": 66.7, "grade": "D", "weakest_layer": "capability", "measured_layers": 1, "layers": 6}, "layers": [{"layer": 1, "key": "capability", "title": "Model capability", "score": 66.7, "grade": "D", "measured": true, "note": "only 3 cases: the 95% CI of accuracy spans 21%-94%, so the grade could be anywhere from F to A; add cases for a firmer verdict; based on only 3 requests: the grade is indicative, not a firm verdict; raise the layer''s limit for one", "metrics": {"accuracy": 0.6666666666666666, "accuracy_ci_low": 0.20765960080204782, "accuracy_ci_high": 0.9385080552796038, "cases": 3, "mean_score": 0.6666666666666666, "error_rate": 0.0, "scorer": "contains", "latency_p50_s": 9.954999995898106e-06, "latency_p95_s": 1.5904000008504227e-05, "ttft_p50_s": 9.954999995898106e-06, "ttft_p95_s": 1.5904000008504227e-05}, "checks": [{"name": "capability.accuracy", "passed": false, "value": 0.6666666666666666, "threshold": ">= 0.7", "unit": "ratio", "message": "2/3 cases passed (95% CI 0.21-0.94)", "cases": ["order"]}, {"name": "capability.errors", "passed": true, "value": 0.0, "threshold": "== 0", "unit": "ratio", "message": "0/3 requests errored", "cases": []}], "failing": [{"case_id": "order", "variant": "clean", "input": "Where is my order?", "output": "I can''t see orders.", "reason": "none of 1 expected fragments", "reproduce": "aichaos replay 20261204T183016Z-a8c730 --case order --variant clean"}], "details": {"scores": [1.0, 0.0, 1.0]}}, {"layer": 2, "key": "input_resilience", "title": "Input resilience", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 3, "key": "integration", "title": "Integration reliability", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 4, "key": "safety", "title": "Safety & governance", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 5, "key": "observability", "title": "Observability", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}, {"layer": 6, "key": "scale", "title": "Scalability & cost", "score": null, "grade": "-", "measured": false, "note": "not measured", "metrics": {}, "checks": [], "failing": [], "details": {}}]}',66.7,'D');
CREATE INDEX ix_cases_run_id ON cases (run_id);
COMMIT;
