// Validates Backstage catalog files with Backstage's own @backstage/catalog-model, as the
// catalog backend does when it ingests a Location: the default entity policies (default
// namespace, no foreign root fields, field formats of names/labels/annotations/tags, the entity
// envelope schema), then the kind's validator (Component, Resource, System, Location, ...), then
// the relation references (spec.owner, spec.system, spec.dependsOn, spec.targets) parsed as
// entity refs; a dependsOn/system target must be an entity of the same set.
//   node validate.js FILE|DIR...    prints a JSON summary; exit 1 when any entity is rejected
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');
const model = require('@backstage/catalog-model');

const policies = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const validators = [
  model.componentEntityV1alpha1Validator,
  model.resourceEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator,
  model.apiEntityV1alpha1Validator,
  model.groupEntityV1alpha1Validator,
  model.userEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator,
];

function files(args) {
  const out = [];
  for (const a of args) {
    if (fs.statSync(a).isDirectory()) {
      for (const e of fs.readdirSync(a).sort()) out.push(...files([path.join(a, e)]));
    } else if (/\.ya?ml$/.test(a)) {
      out.push(a);
    }
  }
  return out;
}

async function kindValid(entity) {
  for (const v of validators) {
    // A validator answers false for another kind, throws for its kind when invalid.
    if (await v.check(entity)) return true;
  }
  throw new Error(`no built-in validator accepts kind ${entity.kind} (${entity.apiVersion})`);
}

function refs(entity) {
  const s = entity.spec || {};
  const out = [];
  if (s.owner !== undefined) out.push(['owner', s.owner, 'group']);
  if (s.system !== undefined) out.push(['system', s.system, 'system']);
  for (const d of s.dependsOn || []) out.push(['dependsOn', d, undefined]);
  return out;
}

async function main() {
  const entities = [];
  const errors = [];
  for (const file of files(process.argv.slice(2))) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    docs.forEach((d, i) => {
      if (d.errors.length) errors.push({ file, doc: i, error: String(d.errors[0]) });
      else if (d.contents !== null) entities.push({ file, doc: i, entity: d.toJS() });
    });
  }
  const known = new Set();
  const valid = [];
  for (const e of entities) {
    try {
      const entity = await policies.enforce(e.entity);
      await kindValid(entity);
      known.add(model.stringifyEntityRef(entity));
      valid.push({ ...e, entity });
    } catch (err) {
      errors.push({ file: e.file, doc: e.doc, name: e.entity?.metadata?.name, error: err.message });
    }
  }
  for (const e of valid) {
    for (const [field, ref, defaultKind] of refs(e.entity)) {
      try {
        const parsed = model.parseEntityRef(ref, { defaultKind, defaultNamespace: e.entity.metadata.namespace || 'default' });
        const target = model.stringifyEntityRef(parsed);
        if (field !== 'owner' && !known.has(target)) throw new Error(`${field} ${ref} names no entity of the catalog (${target})`);
      } catch (err) {
        errors.push({ file: e.file, doc: e.doc, name: e.entity.metadata.name, error: `spec.${field}: ${err.message}` });
      }
    }
  }
  process.stdout.write(JSON.stringify({ entities: entities.length, valid: valid.length, errors }, null, 1) + '\n');
  process.exit(errors.length ? 1 : 0);
}

main().catch((err) => { console.error(err); process.exit(2); });
