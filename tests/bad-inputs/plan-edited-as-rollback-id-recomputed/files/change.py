# The edit: apply must refuse the plan it makes (see _tools/edit_plan.py).
def change(plan):
    plan['kind'] = 'rollback'
    plan['rollbackOf'] = 'aaaaaaaaaaaa'
