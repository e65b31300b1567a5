// The VS Code client of `slapolicy lsp` (docs/editor.md): starts the server over stdio for policy files.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("slapolicy");
  const command = config.get("command", "slapolicy");
  const pattern = config.get("documents", "**/policies/*.yaml");
  const run = { command, args: ["lsp"], transport: TransportKind.stdio };
  const serverOptions = { run, debug: run };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "yaml", pattern }],
    synchronize: {
      // a holidays_file or the regulation text next to the policies changes what the server says
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{yaml,ics,txt}"),
    },
  };
  client = new LanguageClient("slapolicy", "slapolicy", serverOptions, clientOptions);
  client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
