/** The e2e suite runs against the local stack; `npm test` (scripts/test.sh) brings it up and exports its env. */
export default function checkStack(): void {
  if (!process.env.KUBECONFIG || !process.env.MOTO_ENDPOINT || !process.env.VAULT_ADDR) {
    throw new Error(
      'the e2e tests need the local stack: run `npm test`, or `npm run stack:up && source .stack/stack.env` first',
    );
  }
}
