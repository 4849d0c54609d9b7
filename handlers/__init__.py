"""The features: one module per command family, with the scheduled jobs it declares.

A handler parses its words, reads or writes through `storage`, and returns a neutral
`Reply`. Handlers know nothing of Slack, Feishu or WeCom. `handlers.registry` is the one
place features are registered. This package itself imports nothing, so that a command
that needs one feature (`opsbot digest`) imports that feature alone.
"""
