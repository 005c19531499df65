// Generates src/gql/ from the committed schema and the operations shared with the Rust client.
// `strictScalars` makes an unmapped custom scalar an error instead of `any`.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['../operations/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        // Operations come from .graphql files, not from `graphql()` calls in the code.
        fragmentMasking: false,
      },
      config: {
        strictScalars: true,
        // Every custom scalar travels as a JSON string (see README, "Generate a client").
        scalars: {
          DateTime: 'string',
          UUID: 'string',
          NaiveDate: 'string',
          NaiveTime: 'string',
        },
        // String unions ('PENDING' | 'CONFIRMED' | …) instead of TypeScript enums: plain JSON
        // values, nothing emitted at run time.
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: false,
      },
    },
  },
};

export default config;
