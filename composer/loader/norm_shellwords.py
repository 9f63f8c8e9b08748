"""Split a command string into words the way Compose does (the go-shellwords rules it uses).

Not a POSIX shell: quotes group, a backslash escapes the next character even inside double quotes
(so `\\t` is just `t`), `$(...)` and backquotes are kept verbatim, and splitting
stops at the first unquoted `;`, `&`, `|`, `<` or `>` (what follows is dropped, as the reference does).
"""

from __future__ import annotations

from dataclasses import dataclass


class ShellWordsError(ValueError):
    pass


_SPACES = " \t\r\n"
_OPERATORS = ";&|<>"


@dataclass
class _State:
    word: str = ""
    has_word: bool = False
    escaped: bool = False
    double: bool = False
    single: bool = False
    backquote: bool = False
    dollar: bool = False  # inside $( ... )

    @property
    def quoted(self) -> bool:
        return self.single or self.double or self.backquote or self.dollar


def split_words(line: str) -> list[str]:
    words: list[str] = []
    st = _State()
    for char in line:
        if st.escaped:
            st.escaped = False
            if st.backquote or st.dollar:
                st.word += "\\" + char
            else:
                st.word += char
            st.has_word = True
            continue
        if char == "\\":
            if st.single:
                st.word += char
            else:
                st.escaped = True
            continue
        if char in _SPACES:
            if st.quoted:
                st.word += char
            elif st.has_word:
                words.append(st.word)
                st.word, st.has_word = "", False
            continue
        if char == "`" and not (st.single or st.double or st.dollar):
            st.backquote = not st.backquote  # kept verbatim below
        elif char == ")" and not (st.single or st.double or st.backquote):
            if not st.dollar:
                raise ShellWordsError("invalid command line string")
            st.dollar = False
        elif char == "(" and not (st.single or st.double or st.backquote):
            if st.dollar or not st.word.endswith("$"):
                raise ShellWordsError("invalid command line string")
            st.dollar = True
        elif char == '"' and not (st.single or st.dollar or st.backquote):
            st.has_word = st.has_word or st.double  # closing quotes make a word, even an empty one
            st.double = not st.double
            continue
        elif char == "'" and not (st.double or st.dollar or st.backquote):
            st.has_word = st.has_word or st.single
            st.single = not st.single
            continue
        elif char in _OPERATORS and not st.quoted:
            if char == ">" and st.word.isdigit():
                st.has_word = False  # "2>" : the descriptor number is part of the redirection
            break
        st.word += char
        st.has_word = True
    if st.has_word:
        words.append(st.word)
    if st.escaped or st.quoted:
        raise ShellWordsError("invalid command line string")
    return words
