# Recomputes a plan file's planId the way vow does (sha256 of the text without the id's value),
# so that the edit is self-consistent: only apply's re-check can tell.
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

def change(plan):
    for w in plan['waves']:
        for i in w['instances']:
            if i['ref'] == 'app:team-a/web':
                i['action'] = 'update'
                i['to'] = 'v0.0.1'

edit(sys.argv[1], change)
