# Edits a plan file with a case's change and recomputes its planId the way vow does (sha256 of
# the text without the id's value), so that the edit is self-consistent: only apply's re-check
# can tell. Usage (in a case's sh step): python3 "$CATALOGUE/_tools/edit_plan.py" PLAN CHANGE.py
# where CHANGE.py defines `change(plan)`, which edits the parsed plan in place.
import hashlib, json, sys

def reid(path):
    t = open(path).read()
    k = '"planId": "'
    a = t.index(k) + len(k)
    b = t.index('"', a)
    h = hashlib.sha256((t[:a] + t[b:]).encode()).hexdigest()
    open(path, 'w').write(t[:a] + 'sha256:' + h + t[b:])

def edit(path, change):
    plan = json.load(open(path))
    change(plan)
    open(path, 'w').write(json.dumps(plan, indent=2, ensure_ascii=False) + '\n')
    reid(path)

scope = {}
exec(open(sys.argv[2]).read(), scope)
edit(sys.argv[1], scope['change'])
