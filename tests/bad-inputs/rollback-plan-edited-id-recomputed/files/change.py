# The edit: apply must refuse the plan it makes (see _tools/edit_plan.py).
def change(plan):
    for w in plan['waves']:
        for i in w['instances']:
            if i['ref'] == 'app:team-a/web':
                i['action'] = 'update'
                i['to'] = 'v0.0.1'
