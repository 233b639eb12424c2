import type { ErrorObject, FuncKeywordDefinition } from 'ajv';
import type { FhirElementRules } from './element.js';
import { checkNarrativeXhtml } from './narrative.js';

/**
 * Ajv keywords for the FHIR rules JSON Schema cannot state: choice types,
 * primitive arrays with `_` twins, ext-1, "at least one of" invariants and
 * the narrative XHTML. Each error carries a safe `reason` in its params.
 */

// Ajv's root entry point does not re-export these two; derive them from the keyword definition type.
type DataValidateFunction = ReturnType<NonNullable<FuncKeywordDefinition['compile']>>;
type DataValidationCxt = Parameters<DataValidateFunction>[1];

interface Problem {
  /** JSON pointer suffix below the element, e.g. `/valueCode`; none for the element itself. */
  readonly at?: string;
  readonly reason: string;
}

function isPresent(data: Readonly<Record<string, unknown>>, property: string): boolean {
  return Object.hasOwn(data, property) || Object.hasOwn(data, `_${property}`);
}

function choiceProblem(data: Readonly<Record<string, unknown>>, rules: FhirElementRules): Problem | undefined {
  for (const choice of rules.choices) {
    // In the body's own key order, so the error names the second type the client sent.
    const sent = Object.keys(data).map((k) => (k.startsWith('_') ? k.slice(1) : k));
    const present = [...new Set(sent.filter((k) => choice.properties.includes(k)))];
    const second = present[1];
    if (second !== undefined) {
      const at = Object.hasOwn(data, second) ? second : `_${second}`;
      return { at: `/${at}`, reason: `Only one ${choice.name}[x] is allowed.` };
    }
    if (choice.required && present.length === 0)
      return { at: `/${choice.name}[x]`, reason: 'Required field is missing.' };
  }
  if (rules.extension) {
    const hasValue = rules.choices.some((c) => c.name === 'value' && c.properties.some((p) => isPresent(data, p)));
    // FHIR ext-1: "Must have either extensions or value[x], not both".
    if (hasValue === Object.hasOwn(data, 'extension')) {
      return { reason: 'An extension must have either a value[x] or nested extensions, not both.' };
    }
  }
  return undefined;
}

/** FHIR json.html: a primitive array and its `_` twin align, and null marks "no value here" only where the twin has one. */
function primitiveListProblem(data: Readonly<Record<string, unknown>>, name: string): Problem | undefined {
  const values = data[name];
  const twins = data[`_${name}`];
  const valueList = Array.isArray(values) ? (values as unknown[]) : undefined;
  const twinList = Array.isArray(twins) ? (twins as unknown[]) : undefined;
  if (valueList !== undefined && twinList !== undefined && valueList.length !== twinList.length) {
    return { at: `/_${name}`, reason: `Must have exactly one entry for each entry of ${name}.` };
  }
  const length = valueList?.length ?? twinList?.length ?? 0;
  for (let i = 0; i < length; i += 1) {
    if ((valueList?.[i] ?? null) === null && (twinList?.[i] ?? null) === null) {
      const at = valueList === undefined ? `/_${name}/${i}` : `/${name}/${i}`;
      return { at, reason: 'Null is allowed only where the matching _ entry carries extensions.' };
    }
  }
  return undefined;
}

function elementProblem(data: Readonly<Record<string, unknown>>, rules: FhirElementRules): Problem | undefined {
  // FHIR ele-1: "All FHIR elements must have a @value or children" (an id alone is neither).
  if (!Object.keys(data).some((k) => k !== 'id')) return { reason: 'Must have content other than an id.' };
  const choice = choiceProblem(data, rules);
  if (choice !== undefined) return choice;
  for (const name of rules.primitiveLists) {
    const problem = primitiveListProblem(data, name);
    if (problem !== undefined) return problem;
  }
  if (rules.requireAny.length > 0 && !rules.requireAny.some((p) => isPresent(data, p))) {
    return { reason: `Must contain at least one of: ${rules.requireAny.join(', ')}.` };
  }
  return undefined;
}

function toError(keyword: string, ctx: DataValidationCxt | undefined, problem: Problem): Partial<ErrorObject> {
  return { keyword, instancePath: `${ctx?.instancePath ?? ''}${problem.at ?? ''}`, params: { reason: problem.reason } };
}

/** The `fhirElement` keyword: its schema value is a FhirElementRules. */
export function fhirElementKeyword(): FuncKeywordDefinition {
  return {
    keyword: 'fhirElement',
    type: 'object',
    schemaType: 'object',
    errors: true,
    compile(rules: FhirElementRules) {
      const check: DataValidateFunction = (data: Readonly<Record<string, unknown>>, ctx?: DataValidationCxt) => {
        const problem = elementProblem(data, rules);
        if (problem === undefined) return true;
        check.errors = [toError('fhirElement', ctx, problem)];
        return false;
      };
      return check;
    },
  };
}

/** The `fhirXhtml` keyword: Narrative.div must pass the narrative checks. */
export function fhirXhtmlKeyword(): FuncKeywordDefinition {
  return {
    keyword: 'fhirXhtml',
    type: 'string',
    schemaType: 'boolean',
    errors: true,
    compile() {
      const check: DataValidateFunction = (data: string, ctx?: DataValidationCxt) => {
        const reason = checkNarrativeXhtml(data);
        if (reason === undefined) return true;
        check.errors = [toError('fhirXhtml', ctx, { reason })];
        return false;
      };
      return check;
    },
  };
}
