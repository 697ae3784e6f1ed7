# Three of vow's example rules in Rego v1, for bench/compare.sh: evaluated on one request
# document at a time (`input`) by regorus (regorus-count) and by OPA (opa_count.py). Each rule
# must give exactly the findings of the vow rule it copies, on the requests vow evaluates:
#
#   encryption-at-rest      rules/encryption-at-rest.yaml       (PostgreSQL and Bucket requests)
#   postgres-cve-2026-4412  rules/postgres-cve-2026-4412.yaml   (PostgreSQL requests)
#   allowed-regions         rules/allowed-regions.yaml + .rhai  (every request)
#
# vow runs its rules on the request after the Promise's schema defaults are applied; where a
# rule reads a field that has a default, the rule here reads it with object.get and that
# default, so a missing field behaves as vow's defaulted one.
#
# vow runs no rule on a request that fails its Promise's API schema (finding V100); nothing
# here checks the schema, so compare.sh fails if vow reports any V100 (bench/fleet.rs generates
# requests valid against the Promises).
#
# The query is data.vowbench.violations: the set of the names of the rules that deny. Each vow
# rule denies at most once per request, so its size is vow's number of findings for the request.
package vowbench

import rego.v1

# vow matches a request to a Promise by the API group/version and kind of the Promise's CRD
# (promises/*/promise.yaml); requests of no Promise get no rule.
promise := "postgresql" if {
	input.apiVersion == "platform.example.com/v1alpha1"
	input.kind == "PostgreSQL"
}

promise := "redis" if {
	input.apiVersion == "platform.example.com/v1alpha1"
	input.kind == "Redis"
}

promise := "bucket" if {
	input.apiVersion == "platform.example.com/v1alpha1"
	input.kind == "Bucket"
}

# encryption-at-rest, PostgreSQL: `spec.encryption == false`; the schema's default is true.
violations contains "encryption-at-rest" if {
	promise == "postgresql"
	object.get(input.spec, "encryption", true) == false
}

# encryption-at-rest, Bucket: confidential or restricted data needs a KMS key; the schema's
# default encryption is AES256 (and dataClassification is required, without a default).
violations contains "encryption-at-rest" if {
	promise == "bucket"
	input.spec.dataClassification in {"confidential", "restricted"}
	object.get(input.spec, "encryption", "AES256") != "aws:kms"
}

# postgres-cve-2026-4412: vow's rule is semver_matches(spec.version, ">=15.0, <15.8"), with a
# two-part version read as major.minor.0. spec.version is required and the schema allows only
# "14.12", "15.7", "15.8" and "16.4", so on every request vow evaluates this list of the
# affected releases gives the same answer.
cve_2026_4412_affected := {"15.0", "15.1", "15.2", "15.3", "15.4", "15.5", "15.6", "15.7"}

violations contains "postgres-cve-2026-4412" if {
	promise == "postgresql"
	input.spec.version in cve_2026_4412_affected
}

# allowed-regions (rules/allowed-regions.rhai): every request has a `region` label (a missing
# or null one is a finding), and it is one of the regions approved for the `team` label's team;
# teams not listed get the `all` list.
approved_regions := {
	"all": ["eu-west-1", "us-east-1", "ap-south-1"],
	"payments": ["eu-west-1", "us-east-1"],
}

region := object.get(input, ["metadata", "labels", "region"], null)

team := object.get(input, ["metadata", "labels", "team"], null)

violations contains "allowed-regions" if {
	promise
	region == null
}

violations contains "allowed-regions" if {
	promise
	region != null
	not region in object.get(approved_regions, team, approved_regions.all)
}
