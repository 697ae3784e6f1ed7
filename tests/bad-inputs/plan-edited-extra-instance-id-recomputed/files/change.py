# The edit: apply must refuse the plan it makes (see _tools/edit_plan.py).
def change(plan):
    w = plan['waves'][0]
    extra = dict(w['instances'][0])
    extra['ref'] = 'app:team-z/intruder'
    w['instances'].append(extra)
