"""The pygls wiring of `slapolicy lsp` (stdio): documents in, diagnostics, completion, navigation, hover out.

  didOpen / didSave   check + lint (lint runs the policy's rules over the fact domains: on save, not per key)
  didChange           check (loader, schema, checker: the errors `slapolicy check` prints), with the
                      last lint's findings kept while the text is the one they were computed on
  completion          slapolicy.tools.lsp.completion (trigger characters . " [ , and space)
  definition / references / hover   slapolicy.tools.lsp.navigation, slapolicy.tools.lsp.hover

Works with pygls 1.3+ and 2.x (the two differ in the import path of LanguageServer and in how
diagnostics are published).
"""
from __future__ import annotations

from lsprotocol import types as lsp

try:  # pygls 2
    from pygls.lsp.server import LanguageServer
except ImportError:  # pragma: no cover - pygls 1.x
    from pygls.server import LanguageServer

from slapolicy.tools.lsp import completion, hover, navigation
from slapolicy.tools.lsp.document import Document, path_to_uri

_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
             "info": lsp.DiagnosticSeverity.Information}


class PolicyServer(LanguageServer):
    def __init__(self):
        super().__init__("slapolicy", "0.1.0")
        self.docs: dict[str, Document] = {}
        self.lint_cache: dict[str, tuple] = {}  # uri -> (text, [lsp.Diagnostic])

    def document(self, uri: str) -> Document:
        text = self.workspace.get_text_document(uri).source
        doc = self.docs.get(uri)
        if doc is None or doc.text != text:
            doc = Document.open(uri, text, doc)
            self.docs[uri] = doc
        return doc

    def publish(self, uri: str, diagnostics: list):
        if hasattr(self, "text_document_publish_diagnostics"):
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        else:  # pragma: no cover - pygls 1.x
            self.publish_diagnostics(uri, diagnostics)

    def validate(self, uri: str, lint: bool):
        from slapolicy.api import check_text

        doc = self.document(uri)
        out = [_diagnostic(d.span, d.severity, d.code, d.message + (f" ({d.hint})" if d.hint else ""))
               for d in check_text(doc.text, doc.file).diagnostics]
        if lint and not any(d.severity == lsp.DiagnosticSeverity.Error for d in out):
            self.lint_cache[uri] = (doc.text, lint_diagnostics(doc))
        cached = self.lint_cache.get(uri)
        if cached and cached[0] == doc.text:
            out.extend(cached[1])
        self.publish(uri, out)


def lint_diagnostics(doc: Document) -> list:
    from slapolicy.tools.lint import lint_text
    from slapolicy.tools.lint.findings import CHECKER_WARNINGS

    result = lint_text(doc.text, doc.file)
    return [_diagnostic(f.span, f.severity, f.code, f.message) for f in result.findings
            if f.code not in CHECKER_WARNINGS]  # the checker's warnings are already there


def _range(span) -> lsp.Range:
    end_line = (span.end_line or span.line) - 1
    end_col = (span.end_col or span.col + 1) - 1
    return lsp.Range(start=lsp.Position(line=max(0, span.line - 1), character=max(0, span.col - 1)),
                     end=lsp.Position(line=max(0, end_line), character=max(0, end_col)))


def _diagnostic(span, severity, code, message) -> lsp.Diagnostic:
    return lsp.Diagnostic(range=_range(span), message=message, code=code, source="slapolicy",
                          severity=_SEVERITY.get(severity, lsp.DiagnosticSeverity.Information))


def _location(doc: Document, span) -> lsp.Location:
    uri = doc.uri if span.file == doc.file else path_to_uri(span.file)
    return lsp.Location(uri=uri, range=_range(span))



def build() -> PolicyServer:
    ls = PolicyServer()

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls_: PolicyServer, params: lsp.DidOpenTextDocumentParams):
        ls_.validate(params.text_document.uri, lint=True)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls_: PolicyServer, params: lsp.DidChangeTextDocumentParams):
        ls_.validate(params.text_document.uri, lint=False)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls_: PolicyServer, params: lsp.DidSaveTextDocumentParams):
        ls_.validate(params.text_document.uri, lint=True)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls_: PolicyServer, params: lsp.DidCloseTextDocumentParams):
        ls_.docs.pop(params.text_document.uri, None)
        ls_.lint_cache.pop(params.text_document.uri, None)
        ls_.publish(params.text_document.uri, [])

    @ls.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[".", '"', "'", "[", ",", " ", "("]))
    def on_completion(ls_: PolicyServer, params: lsp.CompletionParams):
        doc = ls_.document(params.text_document.uri)
        items = completion.complete(doc, params.position.line, params.position.character)
        return lsp.CompletionList(is_incomplete=False, items=[
            lsp.CompletionItem(label=i["label"], kind=lsp.CompletionItemKind(i["kind"]), detail=i.get("detail"),
                               documentation=i.get("documentation") or None, insert_text=i.get("insertText"))
            for i in items])

    @ls.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls_: PolicyServer, params: lsp.DefinitionParams):
        doc = ls_.document(params.text_document.uri)
        spans = navigation.definition(doc, params.position.line + 1, params.position.character + 1)
        return [_location(doc, s) for s in spans] or None

    @ls.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls_: PolicyServer, params: lsp.ReferenceParams):
        doc = ls_.document(params.text_document.uri)
        spans = navigation.references(doc, params.position.line + 1, params.position.character + 1,
                                      params.context.include_declaration if params.context else True)
        return [_location(doc, s) for s in spans] or None

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    def on_hover(ls_: PolicyServer, params: lsp.HoverParams):
        doc = ls_.document(params.text_document.uri)
        text = hover.hover(doc, params.position.line + 1, params.position.character + 1)
        if not text:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))

    return ls


def serve():
    """Run the server on stdin / stdout until the client says exit."""
    build().start_io()
