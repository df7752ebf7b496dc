#!/usr/bin/env node
// Registers a site with an OP through relyd and prints a login URL for it, as JSON on stdout.
//   usage: node example.js SOCKET_PATH OP_HOST REDIRECT_URI
// Exit status 1 with "error: <code>: <description>" on stderr when relyd answers with an error.
'use strict';

const { RelydClient } = require('./relyd');

async function main([socketPath, opHost, redirectUri]) {
  const relyd = new RelydClient(socketPath);
  try {
    const site = await relyd.call('register_site', { op_host: opHost, authorization_redirect_uri: redirectUri });
    const login = await relyd.call('get_authorization_url', { oxd_id: site.oxd_id });
    console.log(JSON.stringify({ oxd_id: site.oxd_id, authorization_url: login.authorization_url, state: login.state }));
  } finally {
    relyd.close();
  }
}

if (process.argv.length !== 5) {
  console.error('usage: node example.js SOCKET_PATH OP_HOST REDIRECT_URI');
  process.exit(2);
}
main(process.argv.slice(2)).catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
