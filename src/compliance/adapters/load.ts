// Chooses the configured adapter: the built-in XML or JSON Lines adapter, or a custom module loaded by path
// whose default export is an AdapterFactory (docs/compliance.md describes the contract).
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalid } from '../../core/errors.js';
import type { ComplianceConfig } from '../config.js';
import type { ComplianceAdapter } from './adapter.js';
import { JsonLinesAdapter } from './jsonl.js';
import { XmlAdapter } from './xml.js';

export async function loadAdapter(config: ComplianceConfig, baseDir: string): Promise<ComplianceAdapter> {
  if (config.adapterType === 'xml') return new XmlAdapter();
  if (config.adapterType === 'jsonl') return new JsonLinesAdapter();
  const path = config.adapterModule;
  if (!path) throw invalid('adapterModule', 'a custom adapter needs adapterModule');
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
  } catch (e) {
    throw invalid('adapterModule', `cannot load ${full}: ${(e as Error).message}`);
  }
  if (typeof mod.default !== 'function')
    throw invalid('adapterModule', `${full} must export a default function (config) => adapter`);
  const adapter = (await (mod.default as (c: ComplianceConfig) => unknown)(config)) as Partial<ComplianceAdapter>;
  if (!adapter || typeof adapter.write !== 'function')
    throw invalid('adapterModule', `${full}: the factory must return an object with write(batch, ctx)`);
  return { name: typeof adapter.name === 'string' ? adapter.name : 'custom', write: adapter.write.bind(adapter) };
}
