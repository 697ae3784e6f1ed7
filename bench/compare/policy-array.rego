# bench/compare/policy.rego over a whole fleet at once, for the regorus CLI in bench/shapes.sh:
# `regorus eval -d policy.rego -d policy-array.rego -i fleet.json data.vowbench_array.violations`
# with fleet.json a JSON array of requests (how a user hands a Rego CLI an export). Each element
# is evaluated as `input` by policy.rego's rules, unchanged, so the count is the same as theirs.
package vowbench_array

import rego.v1

violations := sum([n |
	some request in input
	n := count(data.vowbench.violations) with input as request
])
