/**
 * Shared JSON schemas, registered once (addSchema) and referenced by `$id`: the denial
 * (core/denial-json.ts), an allocation, a VM, a summary, an error. Response schemas also serialize
 * (fast-json-stringify), which keeps fields we did not declare from leaking out.
 */

import { DENIAL_JSON_SCHEMA } from '../core/denial-json.js';

const nullable = (type: string) => ({ type: [type, 'null'] });
const str = { type: 'string' };
const int = { type: 'integer' };

export const SCHEMAS = [
  {
    $id: 'error',
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: { code: str, message: str, hint: str },
        required: ['code', 'message'],
      },
    },
    required: ['error'],
  },
  { $id: 'denial', ...DENIAL_JSON_SCHEMA },
  {
    $id: 'allocation',
    type: 'object',
    properties: {
      id: int,
      uuid: str,
      name: str,
      host: str,
      model: str,
      label: nullable('string'),
      imageLabel: nullable('string'),
      categories: str,
      pid: nullable('integer'),
      source: str,
      startedAt: str,
      endedAt: nullable('string'),
      created: { type: 'boolean' },
    },
    required: ['uuid', 'name', 'host', 'model', 'label', 'imageLabel', 'categories', 'startedAt'],
  },
  {
    $id: 'vm',
    type: 'object',
    properties: {
      uuid: str,
      name: str,
      hosts: { type: 'array', items: str },
      allocations: int,
      firstSeen: str,
      lastSeen: str,
      running: { anyOf: [{ $ref: 'allocation#' }, { type: 'null' }] },
    },
  },
  {
    $id: 'summary',
    type: 'object',
    properties: {
      uuid: str,
      name: str,
      total: int,
      groups: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            kind: str,
            tclass: nullable('string'),
            perms: str,
            targetType: nullable('string'),
            target: str,
            targetVm: nullable('string'),
            count: int,
            permissive: int,
            firstSeen: str,
            lastSeen: str,
            exampleId: int,
          },
        },
      },
    },
  },
] as const;

/** Error responses every route may give, for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: { $ref: 'error#' },
  401: { $ref: 'error#' },
  403: { $ref: 'error#' },
  404: { $ref: 'error#' },
  409: { $ref: 'error#' },
  429: { $ref: 'error#' },
  503: { $ref: 'error#' },
};

/** The time filters as the CLI takes them: ISO 8601 or a span back from now. */
export const TIME_PARAM = { type: 'string', maxLength: 40 };

/** The content type of bodies the answer pool serialized already (fastify sends them as they are). */
export const JSON_TYPE = 'application/json; charset=utf-8';
