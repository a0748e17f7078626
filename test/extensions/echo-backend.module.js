// An extension module outside src/, written the way a team would ship one beside the released image
// (plain JavaScript, loaded with EXTENSION_MODULES): it serves backendType "echo", whose value of a key is
// the key reversed, without any change to the controller's code.
import { Injectable, Module } from '@nestjs/common';
import { RegisterSecretBackend, RemoteKeyNotFoundError, requestKey } from 'kubernetes-external-secrets-ts';

class EchoBackend {
  backendType = 'echo';
  batchSize = 100;

  identityFor() {
    return { cacheKey: 'echo', description: 'echo' };
  }

  async fetchMany(_identity, requests) {
    const values = new Map();
    for (const request of requests) {
      values.set(
        requestKey(request),
        request.key === 'missing'
          ? new RemoteKeyNotFoundError(request.key)
          : { type: 'text', text: [...request.key].reverse().join('') },
      );
    }
    return values;
  }
}
Injectable()(EchoBackend);
RegisterSecretBackend()(EchoBackend);

export default class EchoBackendModule {}
Module({ providers: [EchoBackend] })(EchoBackendModule);
