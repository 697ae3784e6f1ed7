# The edit: apply must refuse the plan it makes (see _tools/edit_plan.py).
def change(plan):
    for w in plan['waves']:
        w['failureBudget'] = 99
        w['gate'] = False
        w['bake'] = '0s'
