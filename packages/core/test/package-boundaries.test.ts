import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function lintAs(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('package boundaries (ESLint)', () => {
  it("fails an import of another package's internals", async () => {
    const messages = await lintAs('packages/engine/src/bad.ts', "import { createLoader } from '@edgeinfer/loader/src/loader.js';\nexport const x = createLoader;\n");
    expect(messages.join('\n')).toMatch(/never its internals/);
  });

  it('fails a relative import into another package', async () => {
    const messages = await lintAs('packages/engine/src/bad.ts', "import { createLoader } from '../../loader/src/loader.js';\nexport const x = createLoader;\n");
    expect(messages.join('\n')).toMatch(/never its internals/);
  });

  it('fails an import that points up the layers', async () => {
    const messages = await lintAs('packages/core/src/bad.ts', "import { createEngineCore } from '@edgeinfer/engine';\nexport const x = createEngineCore;\n");
    expect(messages.join('\n')).toMatch(/points up/);
    const sideways = await lintAs('packages/backend-ort/src/bad.ts', "import { createEngineCore } from '@edgeinfer/engine';\nexport const x = createEngineCore;\n");
    expect(sideways.join('\n')).toMatch(/points up/);
  });

  it('allows a public entry of a lower layer', async () => {
    expect(await lintAs('packages/engine/src/ok.ts', "import { createLoader } from '@edgeinfer/loader';\nexport const x = createLoader;\n")).toEqual([]);
  });
});
