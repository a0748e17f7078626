// An extension module outside src/, written the way a team would ship one beside the released image
// (plain JavaScript, loaded with EXTENSION_MODULES): it serves backendType "echo", whose value of a key is
// the key reversed (after the optional spec field of its own, `echoPrefix`), without any change to the
// controller's code.
import { Injectable, Module } from '@nestjs/common';
import { RegisterSecretBackend, RemoteKeyNotFoundError, requestKey } from 'kubernetes-external-secrets-ts';

class EchoBackend {
  backendType = 'echo';
  batchSize = 100;
  // A spec field of this backend's own; the CRD gets this fragment (README: "Adding a backend").
  specFields = { echoPrefix: { type: 'string', description: 'Put before every echoed value.' } };

  // Objects with different prefixes read through different identities: they never share a cached value.
  identityFor(spec) {
    const prefix = spec.backendFields.echoPrefix ?? '';
    return { cacheKey: `echo|${prefix}`, description: `echo (prefix ${JSON.stringify(prefix)})`, prefix };
  }

  async fetchMany(identity, requests) {
    const values = new Map();
    for (const request of requests) {
      values.set(
        requestKey(request),
        request.key === 'missing'
          ? new RemoteKeyNotFoundError(request.key)
          : { type: 'text', text: identity.prefix + [...request.key].reverse().join('') },
      );
    }
    return values;
  }
}
Injectable()(EchoBackend);
RegisterSecretBackend()(EchoBackend);

export default class EchoBackendModule {}
Module({ providers: [EchoBackend] })(EchoBackendModule);
