"""The InfluxQL grammar (the subset openefd answers), for lark's LALR parser.

Kept as a Python string so that it ships inside the package. Keywords are
case-insensitive and reserved (quote them to use them as names, as in
InfluxDB); ``time``, ``fill`` and function names are ordinary identifiers.
The basic lexer is used so that keywords never lex as identifiers and
``/`` always starts a regular expression (InfluxQL's ``/`` division is not
supported). ``--`` and ``/* */`` comments are skipped.
"""

from __future__ import annotations

__all__ = ["GRAMMAR", "KEYWORDS"]

KEYWORDS = (
    "AND",
    "AS",
    "ASC",
    "BY",
    "DATABASES",
    "DESC",
    "FALSE",
    "FIELD",
    "FROM",
    "GROUP",
    "IN",
    "KEY",
    "KEYS",
    "LIMIT",
    "MEASUREMENT",
    "MEASUREMENTS",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "POLICIES",
    "RETENTION",
    "SELECT",
    "SERIES",
    "SHOW",
    "SLIMIT",
    "SOFFSET",
    "TAG",
    "TRUE",
    "VALUES",
    "WHERE",
    "WITH",
)

_RULES = r"""
start: (statement? SEMICOLON)* statement?

?statement: select_stmt
          | show_stmt

select_stmt: SELECT fields from_clause where_clause? group_clause? fill_clause? order_clause? \
             limit_clause? offset_clause? slimit_clause? soffset_clause?

fields: field (COMMA field)*
field: select_expr (AS ident)?
?select_expr: STAR -> wildcard
            | expr

from_clause: FROM source (COMMA source)*
source: mpart
      | ident DOT mpart
      | ident DOT ident DOT mpart
      | ident DOT DOT mpart
?mpart: ident
      | regex

where_clause: WHERE expr

group_clause: GROUP BY dimension (COMMA dimension)*
dimension: STAR -> dim_wildcard
         | regex -> dim_regex
         | ident -> dim_tag
         | call -> dim_call

fill_clause: IDENT LPAR fill_arg RPAR
fill_arg: IDENT -> fill_word
        | signed_number -> fill_number

order_clause: ORDER BY sort_field (COMMA sort_field)*
sort_field: ident (ASC | DESC)?
          | ASC
          | DESC

limit_clause: LIMIT INTEGER
offset_clause: OFFSET INTEGER
slimit_clause: SLIMIT INTEGER
soffset_clause: SOFFSET INTEGER

show_stmt: SHOW DATABASES -> show_databases
         | SHOW RETENTION POLICIES on_clause? -> show_retention_policies
         | SHOW MEASUREMENTS on_clause? with_measurement? where_clause? limit_clause? \
           offset_clause? -> show_measurements
         | SHOW FIELD KEYS on_clause? from_clause? limit_clause? offset_clause? \
           -> show_field_keys
         | SHOW TAG KEYS on_clause? from_clause? where_clause? limit_clause? offset_clause? \
           -> show_tag_keys
         | SHOW TAG VALUES on_clause? from_clause? WITH KEY key_condition where_clause? \
           limit_clause? offset_clause? -> show_tag_values
         | SHOW SERIES on_clause? from_clause? where_clause? limit_clause? offset_clause? \
           -> show_series

on_clause: ON ident
with_measurement: WITH MEASUREMENT name_op (ident | regex)
?name_op: EQ | NEQ | EQ_REGEX | NEQ_REGEX
key_condition: name_op (ident | regex)
             | IN LPAR ident (COMMA ident)* RPAR -> key_in

?expr: or_expr
?or_expr: and_expr
        | or_expr OR and_expr -> binary
?and_expr: cmp_expr
         | and_expr AND cmp_expr -> binary
?cmp_expr: add_expr
         | add_expr cmp_op add_expr -> binary
?cmp_op: EQ | NEQ | LT | LTE | GT | GTE | EQ_REGEX | NEQ_REGEX
?add_expr: unary
         | add_expr (PLUS | MINUS) unary -> binary
?unary: atom
      | MINUS unary -> negate
?atom: var_ref
     | call
     | literal
     | regex
     | LPAR expr RPAR -> paren

var_ref: ident (CAST cast_type)?
?cast_type: IDENT | FIELD | TAG
call: IDENT LPAR [call_arg (COMMA call_arg)*] RPAR
?call_arg: STAR -> wildcard
         | expr

?literal: STRING -> string
        | INTEGER -> integer
        | NUMBER -> number
        | DURATION -> duration
        | TRUE -> true
        | FALSE -> false

signed_number: MINUS? (INTEGER | NUMBER)
regex: REGEX
ident: IDENT | QUOTED_IDENT
"""

_TERMINALS = r"""
SEMICOLON: ";"
COMMA: ","
DOT: "."
LPAR: "("
RPAR: ")"
STAR: "*"
PLUS: "+"
MINUS: "-"
CAST: "::"
EQ: "="
NEQ: "!=" | "<>"
LT: "<"
LTE: "<="
GT: ">"
GTE: ">="
EQ_REGEX: "=~"
NEQ_REGEX: "!~"

DURATION.4: /\d+(?:ns|ms|u|µ|s|m|h|d|w)(?:\d+(?:ns|ms|u|µ|s|m|h|d|w))*(?![\w])/
NUMBER.3: /\d+\.\d*|\.\d+/
INTEGER.2: /\d+/
STRING: /'(?:[^'\\\n]|\\.)*'/
QUOTED_IDENT: /"(?:[^"\\\n]|\\.)*"/
REGEX: /\/(?:[^\/\\\n]|\\.)*\//
IDENT: /[^\W\d]\w*/i

LINE_COMMENT.9: /--[^\n]*/
BLOCK_COMMENT.9: /\/\*(?:.|\n)*?\*\//
WS: /\s+/
%ignore LINE_COMMENT
%ignore BLOCK_COMMENT
%ignore WS
"""

GRAMMAR = _RULES + _TERMINALS + "\n".join(f'{word}: "{word.lower()}"i' for word in KEYWORDS) + "\n"
