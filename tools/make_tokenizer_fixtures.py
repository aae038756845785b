#!/usr/bin/env python3
"""Writes the tokenizer test fixtures into tests/fixtures/tokenizer/.

  corpus_generated.jsonl  our own generated documents (fixed seed), one JSON string per line
  manifest.json           the corpus layout (generated documents, then chunks of the Paul Graham
                          essays read at test time from the shared data), the tokenizers and the
                          reference id files
  ids_<name>.bin          reference ids per tokenizer: LEB128 varints, n_docs, then per document
                          its length and its ids
  mistral_spm.gguf        a vocab-only SentencePiece GGUF (tokenizer.ggml.model = "llama") built
                          from the Mistral tokenizer.json, scores = -(rank of the first merge that
                          makes the token)
  chat_templates.json     chat renderings of the real jinja templates (jinja2)

References:
  smollm2_gguf        llama.cpp (llama-cpp-python, vocab_only) on the default model, special=False;
                      with --no-llama-cpp: a `tokenizers` BPE built from the GGUF vocab/merges with
                      SmolLM2's pre-tokenizer (Digits(individual) + ByteLevel).
  llama3/qwen3/mistral_json
                      tokenizers.Tokenizer.from_file(...).encode(text, add_special_tokens=False)
  mistral_spm_gguf    llama.cpp on mistral_spm.gguf (special=True)

Usage (system python3 with tokenizers, gguf, jinja2; llama.cpp through another interpreter):
  python3 tools/make_tokenizer_fixtures.py --llama-python /tmp/refvenv/bin/python
"""

import argparse
import glob
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "fixtures", "tokenizer")
SEED = 20240611

# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------

WORDS = """the of and to in is was for on that with as by at from his her it an were are which
this be or has had not but also have first one their its new after who they two been other when
there all during into school time may years more most only over city some world would where later
up such used many can state about national out known university united then made year however
under system three between american part high while city these team both under government
before name people number well called film being since through member season series against
north still early group city south music including did game early city small found area off
development around another river final each good life company several house late major work
should back same few where long make four day light question answer problem machine language
model token compute memory window attention context needle haystack retrieve search value key
query layer head vector matrix tensor kernel cache budget block sparse dense local global star
quick brown fox jumps lazy dog lorem ipsum dolor sit amet consectetur adipiscing elit sed eiusmod
tempor incididunt labore dolore magna aliqua enim minim veniam quis nostrud exercitation ullamco
laboris nisi aliquip commodo consequat duis aute irure reprehenderit voluptate velit esse cillum
fugiat nulla pariatur excepteur sint occaecat cupidatat proident sunt culpa officia deserunt
mollit anim laborum antidisestablishmentarianism floccinaucinihilipilification supercalifragilistic
naïve café résumé coöperate façade jalapeño über Zürich Ångström São Paulo Kraków Reykjavík""".split()

CONTRACTIONS = ["I'M", "they'RE", "We'Ll", "DON'T", "it'S", "you'VE", "He'D", "she's", "we're",
                "they've", "I'll", "you'd", "can't", "won't", "Isn'T", "O'Neil", "rock'n'roll",
                "'s", "'S", "'tis", "y'all", "ma'am", "it’s", "don’t", "L'Été", "x'ſ", "'ll've",
                "''", "'", "l'amour", "I'M'S", "WE'RE'NT"]

SENTENCES = {
    "de": "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. Straße, Größe, Maß.",
    "fr": "Voix ambiguë d'un cœur qui, au zéphyr, préfère les jattes de kiwis. « Ça va ? » — Oui !",
    "es": "El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío. ¿Qué tal? ¡Añejo!",
    "pt": "Luís argüia à Júlia que «brações, fé, chá, óxido, pôr, zângão» eram palavras do português.",
    "pl": "Pchnąć w tę łódź jeża lub ośm skrzyń fig. Zażółć gęślą jaźń.",
    "cs": "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "tr": "Pijamalı hasta yağız şoföre çabucak güvendi. İstanbul'da ılık bir gün.",
    "vi": "Tiếng Việt có dấu: Trăm năm trong cõi người ta, chữ tài chữ mệnh khéo là ghét nhau.",
    "ru": "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёлка, ЁЖ, щука.",
    "uk": "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
    "el": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Καλημέρα κόσμε, τι κάνεις;",
    "he": "דג סקרן שט בים מאוכזב ולפתע מצא חברה. שלום עולם!",
    "ar": "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق. مرحبا بالعالم ١٢٣٤٥",
    "fa": "سلام دنیا! این یک متن آزمایشی فارسی است با اعداد ۱۲۳۴۵۶۷۸۹۰.",
    "hi": "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम। नमस्ते दुनिया १२३",
    "bn": "আমি বাংলায় গান গাই। হ্যালো বিশ্ব ১২৩৪",
    "ta": "யாமறிந்த மொழிகளிலே தமிழ்மொழி போல் இனிதாவது எங்கும் காணோம்.",
    "th": "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน สวัสดีชาวโลก",
    "ka": "გამარჯობა მსოფლიო! ქართული ენა ლამაზია.",
    "hy": "Բարեւ աշխարհ։ Հայերեն լեզու։",
    "am": "ሰላም ለዓለም። የአማርኛ ፊደል።",
    "zh": "我能吞下玻璃而不伤身体。你好，世界！今天是2024年3月15日，价格为￥1,299.00元。",
    "zh_tw": "繁體中文測試：臺灣、網際網路、資料庫與電腦程式設計。",
    "ja": "いろはにほへと ちりぬるを わかよたれそ つねならむ。東京都は日本の首都です。カタカナ、ｶﾀｶﾅ。",
    "ko": "키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다. 안녕하세요 세계!",
    "mixed": "English, 中文, العربية, עברית, русский, हिन्दी, 한국어 and emoji 🎉 in one line.",
}

CODE_TEMPLATES = [
    # Python
    'def {f}({a}, {b}=None):\n    """Return the {w} of {a}."""\n    if {b} is None:\n        {b} = []\n'
    '    for i in range({n}):\n        {b}.append({a} * i ** 2)\n    return sum({b}) / max(len({b}), 1)\n'
    '\n\nif __name__ == "__main__":\n    print(f"{{{f}({n})=}}")\n',
    # C++
    '#include <vector>\n#include <cstdint>\n\nnamespace {ns} {{\n\ntemplate <typename T>\nT {f}(const '
    'std::vector<T>& {a}) {{\n  T acc{{}};\n  for (size_t i = 0; i < {a}.size(); ++i) {{\n    acc += '
    '{a}[i] * static_cast<T>({n});\n  }}\n  return acc;  // {w}\n}}\n\n}}  // namespace {ns}\n',
    # JavaScript
    'const {f} = async ({a}) => {{\n\tconst res = await fetch(`https://api.example.com/{w}/${{{a}}}`);'
    '\n\tif (!res.ok) throw new Error("HTTP " + res.status);\n\treturn (await res.json()).items'
    '.filter(x => x.{b} !== null && x.count >= {n});\n}};\nexport default {f};\n',
    # Rust
    'fn {f}({a}: &[u32]) -> Option<u64> {{\n    let mut {b}: u64 = 0;\n    for &x in {a}.iter()'
    ' {{\n        {b} = {b}.checked_add(x as u64 * {n})?;\n    }}\n    Some({b})\n}}\n'
    '#[test]\nfn test_{f}() {{ assert_eq!({f}(&[1, 2, 3]), Some({n}u64 * 6)); }}\n',
    # Go
    'package {ns}\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc {F}({a} []string) string {{\n\tvar sb '
    'strings.Builder\n\tfor i, s := range {a} {{\n\t\tif i > 0 {{\n\t\t\tsb.WriteString(", ")\n\t\t}}'
    '\n\t\tfmt.Fprintf(&sb, "%d:%q", i, s)\n\t}}\n\treturn sb.String()\n}}\n',
    # SQL
    'SELECT u.id, u.{a}, COUNT(o.id) AS n_orders, SUM(o.total) / 100.0 AS {w}_usd\nFROM users u\n'
    'LEFT JOIN orders o ON o.user_id = u.id AND o.created_at >= \'2023-01-01\'\nWHERE u.{b} IS NOT '
    'NULL\nGROUP BY u.id, u.{a}\nHAVING COUNT(o.id) > {n}\nORDER BY {w}_usd DESC\nLIMIT 50;\n',
    # HTML
    '<!DOCTYPE html>\n<html lang="en">\n  <head><meta charset="utf-8"><title>{w}</title></head>\n'
    '  <body>\n    <div class="{a}" id="{b}-{n}">\n      <p>Hello &amp; welcome, <b>{w}</b>!</p>\n'
    '      <a href="/{w}?x={n}&amp;y=2">link</a>\n    </div>\n  </body>\n</html>\n',
    # JSON
    '{{\n  "{a}": {n},\n  "{b}": [1.5, -2e-3, true, false, null],\n  "nested": {{"{w}": "value with '
    '\\"quotes\\" and \\\\ backslash", "unicode": "\\u00e9\\u4e2d"}}\n}}\n',
    # Shell
    '#!/usr/bin/env bash\nset -euo pipefail\n{A}="${{1:-{w}}}"\nfor f in ./*.txt; do\n  '
    'wc -l "$f" | awk \'{{print $1}}\' >> /tmp/{b}.log 2>&1 || echo "fail: $f" >&2\ndone\n'
    'grep -E "^[0-9]{{3}}-[a-z]+$" /tmp/{b}.log | sort -u | head -n {n}\n',
    # Makefile with tabs
    'CXXFLAGS := -O2 -Wall -std=c++20\n{a}: {a}.o {b}.o\n\t$(CXX) $(CXXFLAGS) -o $@ $^\n\n%.o: %.cc\n'
    '\t$(CXX) $(CXXFLAGS) -c $< -o $@\n\nclean:\n\trm -f *.o {a}\n',
    # YAML
    'name: {w}\non:\n  push:\n    branches: [ main ]\njobs:\n  build:\n    runs-on: ubuntu-22.04\n'
    '    steps:\n      - uses: actions/checkout@v4\n      - run: make -j{n} {a}\n',
    # LaTeX
    '\\begin{{equation}}\n  \\int_0^\\infty e^{{-{a} x^2}}\\,dx = \\frac{{\\sqrt{{\\pi}}}}{{2\\sqrt{{{a}}}}}'
    ' \\quad (\\alpha_{{{n}}} \\geq 0)\n\\end{{equation}}\n',
    # Markdown
    '## {W}\n\n| col | {a} | {b} |\n|-----|----:|:---:|\n| 1 | {n} | `x` |\n\n- [ ] todo\n- [x] done'
    ' **bold** _it_ ~~strike~~\n\n> quote {w}\n\n```python\nprint({n})\n```\n',
]

# Blocks of scripts assigned long ago (stable categories across Unicode versions).
SCRIPT_RANGES = [
    (0x00A1, 0x00FF), (0x0100, 0x017F), (0x0180, 0x024F), (0x0250, 0x02AF), (0x0391, 0x03C9),
    (0x0400, 0x04FF), (0x0531, 0x0586), (0x05D0, 0x05EA), (0x0621, 0x064A), (0x0660, 0x0669),
    (0x0905, 0x0939), (0x093E, 0x094C), (0x0966, 0x096F), (0x0985, 0x09B9), (0x0B85, 0x0BB9),
    (0x0E01, 0x0E3A), (0x0E40, 0x0E5B), (0x10D0, 0x10FA), (0x1100, 0x1112), (0x1161, 0x1175),
    (0x1200, 0x1248), (0x13A0, 0x13F4), (0x16A0, 0x16EA), (0x1780, 0x17B3), (0x1820, 0x1877),
    (0x1E00, 0x1EFF), (0x2010, 0x2027), (0x2030, 0x205E), (0x20A0, 0x20B9), (0x2100, 0x214F),
    (0x2150, 0x2188), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F),
    (0x2600, 0x26FF), (0x2700, 0x27BF), (0x3000, 0x303F), (0x3041, 0x3096), (0x30A1, 0x30FA),
    (0x3105, 0x312C), (0x4E00, 0x9FA5), (0xAC00, 0xD7A3), (0xF900, 0xFA2D), (0xFF01, 0xFF5E),
    (0xFF66, 0xFF9D), (0x1D400, 0x1D4FF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F),
    (0x1F680, 0x1F6C5), (0x0300, 0x036F), (0x0F40, 0x0F47), (0x0E81, 0x0E82),
]

EMOJI = ["😀", "🎉", "👍🏽", "❤️", "👨‍👩‍👧‍👦", "🧑🏿‍💻", "🇺🇸", "🇯🇵🇫🇷", "1️⃣", "#️⃣", "🏳️‍🌈", "✈️",
         "☕", "🐍", "🦀", "🤖", "💯", "🔥🔥🔥", "🙂🙃", "©️", "™", "😅"]

SPACES = [" ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n", "\n ",
          " \t ", "\u00a0", "\u2003", "\u3000", "\u2009", "\u200b", "\u180e", "\u2028", "\x0b",
          "\x0c", "\u0085", "\ufeff", "\x1c"]

SPECIAL_STRINGS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
                   "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<s>", "</s>", "<unk>", "<think>", "</think>", "<tool_call>", "[INST]",
                   "[/INST]", "<|im_start", "|im_end|>", "<|reserved_special_token_5|>",
                   "<repo_name>", "<|fim_prefix|>", "<<SYS>>"]


def rand_word(r):
    w = r.choice(WORDS)
    k = r.random()
    if k < 0.08:
        return w.upper()
    if k < 0.25:
        return w.capitalize()
    return w


def rand_number(r):
    k = r.randrange(16)
    if k == 0:
        return str(r.randrange(10 ** r.randrange(1, 25)))
    if k == 1:
        return f"{r.uniform(-1e6, 1e6):,.2f}"
    if k == 2:
        return f"${r.randrange(1, 99999):,}.{r.randrange(100):02d}"
    if k == 3:
        return f"{r.randrange(1900, 2100)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}"
    if k == 4:
        return f"{r.randrange(24):02d}:{r.randrange(60):02d}:{r.randrange(60):02d}.{r.randrange(1000):03d}"
    if k == 5:
        return f"+1 ({r.randrange(200, 999)}) {r.randrange(100, 999)}-{r.randrange(1000, 9999)}"
    if k == 6:
        return ".".join(str(r.randrange(256)) for _ in range(4))
    if k == 7:
        return f"0x{r.getrandbits(32):08X}"
    if k == 8:
        return f"{r.uniform(0, 10):.3f}e{r.choice(['-', '+', ''])}{r.randrange(40)}"
    if k == 9:
        return f"{r.randrange(101)}%"
    if k == 10:
        return r.choice(["1st", "2nd", "3rd", "4th", "21st", "102nd"])
    if k == 11:
        return "".join(chr(0xFF10 + r.randrange(10)) for _ in range(r.randrange(1, 6)))
    if k == 12:
        return "".join(chr(0x0660 + r.randrange(10)) for _ in range(r.randrange(1, 6)))
    if k == 13:
        return r.choice(["½", "¾", "²", "³", "Ⅻ", "ⅷ", "①", "⑳", "𝟙𝟚", "१२३", "٣.١٤"])
    if k == 14:
        return f"€{r.randrange(1, 999)},{r.randrange(100):02d}"
    return f"v{r.randrange(10)}.{r.randrange(30)}.{r.randrange(100)}-rc{r.randrange(5)}"


def rand_char(r):
    while True:
        lo, hi = r.choice(SCRIPT_RANGES)
        c = chr(r.randint(lo, hi))
        if unicodedata.category(c) not in ("Cn", "Co", "Cs"):
            return c


def prose(r, n_sentences):
    out = []
    for _ in range(n_sentences):
        words = []
        for _ in range(r.randrange(4, 18)):
            k = r.random()
            if k < 0.07:
                words.append(rand_number(r))
            elif k < 0.12:
                words.append(r.choice(CONTRACTIONS))
            elif k < 0.14:
                words.append(r.choice(EMOJI))
            else:
                words.append(rand_word(r))
        s = " ".join(words)
        s = s[0].upper() + s[1:]
        s += r.choice([".", ".", ".", "!", "?", "...", ";", ":", " —", "?!"])
        if r.random() < 0.1:
            s = '"' + s + '"'
        if r.random() < 0.05:
            s = "(" + s + ")"
        out.append(s)
    sep = r.choice([" ", " ", "  ", "\n", "\n\n"])
    return sep.join(out)


def code(r):
    t = r.choice(CODE_TEMPLATES)
    names = ["foo", "bar", "baz", "qux", "value", "items", "tokenCount", "max_len", "x1", "_tmp",
             "userName", "HTTPServer", "parse_json", "kv_cache", "n"]
    a, b = r.sample(names, 2)
    f = r.choice(["compute", "get_items", "process", "tokenize", "merge_sort", "run"])
    s = t.format(f=f, F=f.capitalize(), a=a, b=b, A=a.upper(), w=rand_word(r).lower(),
                 W=rand_word(r).capitalize(), n=r.randrange(1, 5000), ns=r.choice(["util", "core", "x"]))
    if r.random() < 0.3:
        s = s.replace("    ", "\t")
    if r.random() < 0.2:
        s = s.replace("\n", "\r\n")
    return s


def unicode_soup(r, n):
    out = []
    for _ in range(n):
        k = r.random()
        if k < 0.6:
            out.append(rand_char(r))
        elif k < 0.75:
            out.append(r.choice(SPACES))
        elif k < 0.85:
            out.append(rand_word(r))
        elif k < 0.9:
            out.append(rand_number(r))
        else:
            out.append(r.choice(EMOJI))
    return "".join(out)


def script_words(r, n):
    lo, hi = r.choice(SCRIPT_RANGES)
    words = []
    for _ in range(n):
        w = ""
        for _ in range(r.randrange(1, 9)):
            c = chr(r.randint(lo, hi))
            if unicodedata.category(c) not in ("Cn", "Co", "Cs"):
                w += c
        words.append(w)
    return r.choice([" ", "", ", ", "\n"]).join(words)


def combining(r):
    base = "aeiouAEIOUnNcCsz"
    out = []
    for _ in range(r.randrange(5, 40)):
        out.append(r.choice(base))
        for _ in range(r.randrange(0, 4)):
            out.append(chr(r.randint(0x300, 0x36F)))
        if r.random() < 0.2:
            out.append(" ")
    extra = ["e\u0301", "A\u030A", "\u212B", "\u2126", "\u1100\u1161\u11A8", "\uF900", "ﬁ",
             "o\u0308\u0304", "\u0065\u0301\u0323", "q\u0307\u0323"]
    out.append(" " + " ".join(r.sample(extra, 4)))
    return "".join(out)


def whitespace_doc(r):
    parts = []
    for _ in range(r.randrange(3, 30)):
        k = r.random()
        if k < 0.4:
            parts.append(r.choice(SPACES) * r.randrange(1, 6))
        elif k < 0.5:
            parts.append(" " * r.randrange(1, 40))
        elif k < 0.9:
            parts.append(rand_word(r))
        else:
            parts.append(r.choice(["!", ".", "?", "-", "'", "'s", "123", "x"]))
    return "".join(parts)


def special_doc(r):
    parts = []
    for _ in range(r.randrange(2, 12)):
        k = r.random()
        if k < 0.4:
            parts.append(r.choice(SPECIAL_STRINGS))
        elif k < 0.6:
            parts.append(r.choice(["user\n", "assistant\n", "system\n", "\n", " ", "  "]))
        else:
            parts.append(prose(r, 1))
    return "".join(parts)


def generate_corpus(seed):
    r = random.Random(seed)
    docs = ["", " ", "  ", "\n", "\t", "\r\n", " \n \n", "a", "'", "''", "'s", "I'M", "x", "1",
            "12", "123", "1234", "12345", "    leading spaces", "trailing spaces    ",
            "   both   ", "\n\nleading newlines", "\u00a0nbsp\u00a0", "\u3000ideographic",
            " <|im_start|>user", "<|im_start|>user\nHi<|im_end|>\n", "<s> [INST] hi [/INST]",
            "</s></s>", "<|endoftext|><|endoftext|>", "a<|im_end|>b", "<unk>x", "<<SYS>>",
            "Hello world", " Hello world", "hello", " hello", "HELLO", "ſ", "ﬀ", "🤖", "👨‍👩‍👧‍👦",
            "日本", " 日本", "\u0301", "e\u0301", "\U0001D400\U0001D401", "\x00", "\x7f",
            "a" * 3000, "9" * 2000, " " * 3000, "\t" * 500, "\n" * 800, "=" * 1200, "ab" * 1500,
            "🔥" * 400, "中" * 2000, " \t" * 700, "'s" * 500, "Ab1!" * 600,
            "x " * 1500 + "\n", ".\n" * 700]
    for name, s in sorted(SENTENCES.items()):
        docs.append(s)
        docs.append(s + " " + s.upper() + "\n" + s.lower())
    kinds = ["prose"] * 9 + ["code"] * 6 + ["numbers"] * 2 + ["soup"] * 4 + ["script"] * 3 + [
        "combining"] + ["ws"] * 3 + ["special"] * 2 + ["contractions"] + ["multi"] * 2
    size = sum(len(d.encode()) for d in docs)
    target = 118_000
    while size < target:
        k = r.choice(kinds)
        if k == "prose":
            d = prose(r, r.randrange(1, 12))
        elif k == "code":
            d = code(r)
        elif k == "numbers":
            d = " ".join(rand_number(r) for _ in range(r.randrange(5, 60)))
        elif k == "soup":
            d = unicode_soup(r, r.randrange(10, 200))
        elif k == "script":
            d = script_words(r, r.randrange(3, 40))
        elif k == "combining":
            d = combining(r)
        elif k == "ws":
            d = whitespace_doc(r)
        elif k == "special":
            d = special_doc(r)
        elif k == "contractions":
            d = " ".join(r.choice(CONTRACTIONS) for _ in range(r.randrange(5, 40)))
        else:
            d = " ".join(r.choice(list(SENTENCES.values())) for _ in range(r.randrange(2, 6)))
        if r.random() < 0.1:
            d = r.choice(SPACES) * r.randrange(1, 4) + d
        if r.random() < 0.1:
            d = d + r.choice(SPACES) * r.randrange(1, 4)
        docs.append(d)
        size += len(d.encode())
    return docs


ESSAY_DIR = "haystack/paul_graham_essays"
ESSAYS = ["addiction.txt", "aord.txt", "apple.txt", "avg.txt", "before.txt", "bias.txt",
          "boss.txt", "copy.txt", "corpdev.txt", "desres.txt", "diff.txt", "ecw.txt",
          "founders.txt", "gba.txt", "goodtaste.txt"]
CHUNK = 4000


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def essay_chunks(data):
    """Byte ranges of about CHUNK bytes, cut after a newline."""
    chunks = []
    pos = 0
    while pos < len(data):
        end = min(len(data), pos + CHUNK)
        if end < len(data):
            nl = data.find(b"\n", end)
            end = len(data) if nl < 0 else nl + 1
        chunks.append([pos, end - pos])
        pos = end
    return chunks


# ---------------------------------------------------------------------------------------------
# Reference ids
# ---------------------------------------------------------------------------------------------

def write_ids(path, all_ids):
    out = bytearray()

    def varint(v):
        assert v >= 0
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return

    varint(len(all_ids))
    for ids in all_ids:
        varint(len(ids))
        for i in ids:
            varint(i)
    with open(path, "wb") as f:
        f.write(out)


LLAMA_SCRIPT = r"""
import json, sys, llama_cpp
model, docs_path, special, out_path = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
m = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
docs = json.load(open(docs_path, encoding="utf-8"))
res = [m.tokenize(d.encode("utf-8"), add_bos=False, special=special) if d else [] for d in docs]
json.dump({"ids": res, "version": llama_cpp.__version__}, open(out_path, "w"))
"""


def llama_cpp_ids(python, model, docs, special):
    with tempfile.TemporaryDirectory() as tmp:
        dp, op, sp = (os.path.join(tmp, n) for n in ("docs.json", "out.json", "run.py"))
        with open(dp, "w", encoding="utf-8") as f:
            json.dump(docs, f, ensure_ascii=False)
        with open(sp, "w") as f:
            f.write(LLAMA_SCRIPT)
        subprocess.run([python, sp, model, dp, "1" if special else "0", op], check=True)
        with open(op) as f:
            res = json.load(f)
    return res["ids"], res["version"]


def hf_ids(tok, docs):
    return [tok.encode(d, add_special_tokens=False).ids for d in docs]


def hf_from_smollm_gguf(model):
    """A `tokenizers` BPE from the GGUF vocab/merges with SmolLM2's HF pre-tokenizer config."""
    import gguf
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, AddedToken
    rd = gguf.GGUFReader(model)
    tokens = rd.fields["tokenizer.ggml.tokens"].contents()
    types = rd.fields["tokenizer.ggml.token_type"].contents()
    merges = [tuple(m.split(" ", 1)) for m in rd.fields["tokenizer.ggml.merges"].contents()]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t, ty in zip(tokens, types) if ty == 3])
    return tok


# ---------------------------------------------------------------------------------------------
# Pipeline variants: tokenizer.json files patched to use other normalizers / pre-tokenizers
# (Metaspace, split behaviours, ByteLevel with a prefix space, NFKC + Replace), checked on the
# first VARIANT_DOCS generated documents.
# ---------------------------------------------------------------------------------------------

VARIANT_DOCS = 100
SP = "\u2581"
VARIANTS = [
    ("mistral_metaspace_first", "mistral", {
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first",
                          "split": False},
        "decoder": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "first",
                    "split": False}}),
    ("mistral_metaspace_split", "mistral", {
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "always",
                          "split": True},
        "decoder": {"type": "Metaspace", "replacement": SP, "prepend_scheme": "always",
                    "split": True}}),
    ("llama3_gpt2_prefix_space", "llama3", {
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                          "use_regex": True}}),
    ("llama3_split_behaviors", "llama3", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": False},
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "MergedWithPrevious",
             "invert": False},
            {"type": "Split", "pattern": {"String": "e"}, "behavior": "MergedWithNext",
             "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\p{P}"}, "behavior": "Contiguous",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": False}]}}),
    ("llama3_split_removed", "llama3", {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[,.;:!?]"}, "behavior": "Removed",
             "invert": False},
            {"type": "Split", "pattern": {"Regex": "[aeiou]+"}, "behavior": "Isolated",
             "invert": True},
            {"type": "Punctuation", "behavior": "Isolated"},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": True}]}}),
    ("qwen3_nfkc_replace", "qwen3", {
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"},
            {"type": "Replace", "pattern": {"Regex": "\\s{2,}"}, "content": " "},
            {"type": "Replace", "pattern": {"String": "ab"}, "content": "AB"}]}}),
]


def variant_json(shared, base, patch):
    with open(os.path.join(shared, "tokenizers", base, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    tj.update(patch)
    return tj


# ---------------------------------------------------------------------------------------------
# SentencePiece GGUF from the Mistral tokenizer.json
# ---------------------------------------------------------------------------------------------

def write_spm_gguf(tokenizer_json, path):
    import gguf
    with open(tokenizer_json, encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    merges = tj["model"]["merges"]
    n = len(vocab)
    tokens = [None] * n
    for t, i in vocab.items():
        tokens[i] = t
    first_rank = {}
    for r, m in enumerate(merges):
        a, b = m.split(" ") if isinstance(m, str) else m
        first_rank.setdefault(a + b, r)
    special = {a["id"]: a["content"] for a in tj["added_tokens"]}
    scores, types = [], []
    for i, t in enumerate(tokens):
        if t in first_rank:
            scores.append(-float(first_rank[t]))
        elif i in special:
            scores.append(0.0)
        else:
            scores.append(-1e9 if len(t) > 1 and not t.startswith("<0x") else 0.0)
        if i in special:
            types.append(gguf.TokenType.UNKNOWN if t == "<unk>" else gguf.TokenType.CONTROL)
        elif len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("mistral-spm-vocab-test")
    w.add_context_length(4096)
    w.add_embedding_length(64)
    w.add_block_count(1)
    w.add_feed_forward_length(128)
    w.add_head_count(1)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------
# Chat templates
# ---------------------------------------------------------------------------------------------

# Qwen2-Instruct's template (Qwen/Qwen2-7B-Instruct tokenizer_config.json).
QWEN2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

# Llama-2-chat's template (meta-llama/Llama-2-7b-chat-hf tokenizer_config.json).
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}")

CHAT_CASES = [
    ([("user", "Hello!")], True),
    ([("user", "Hello!")], False),
    ([("system", "You are terse."), ("user", "What is 2+2?")], True),
    ([("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Tell me a joke.")], True),
    ([("system", "Be kind."), ("user", "Hi"), ("assistant", " Sure thing. "), ("user", "Again")],
     True),
    ([("user", "  \n  spaced out\t\n")], True),
    ([("user", "日本語のテキスト 🎉\nsecond line")], True),
    ([("system", ""), ("user", "x")], True),
    ([("user", "Summarize:\n\nThe needle is 42.\n"), ("assistant", "42"),
      ("user", "And?")], False),
    ([("user", "Question"), ("assistant", "Answer")], False),
]


def render_chat_fixtures(model_path, shared):
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    import gguf

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception

    rd = gguf.GGUFReader(model_path)
    smol = rd.fields["tokenizer.chat_template"].contents()

    def cfg_template(name):
        with open(os.path.join(shared, "tokenizers", name, "tokenizer_config.json")) as f:
            return json.load(f)["chat_template"]

    templates = {
        "smollm2": {"source": {"model": "default"}, "text": smol, "family": "chatml",
                    "default_system": "You are a helpful AI assistant named SmolLM, trained by "
                                      "Hugging Face", "bos": "", "eos": "<|im_end|>"},
        "qwen2": {"source": {"inline": QWEN2_TEMPLATE}, "text": QWEN2_TEMPLATE, "family": "chatml",
                  "default_system": "You are a helpful assistant.", "bos": "", "eos": "<|im_end|>"},
        "qwen3": {"source": {"shared": "tokenizers/qwen3/tokenizer_config.json"},
                  "text": cfg_template("qwen3"), "family": "chatml", "default_system": None,
                  "bos": "", "eos": "<|im_end|>"},
        "llama3": {"source": {"shared": "tokenizers/llama3/tokenizer_config.json"},
                   "text": cfg_template("llama3"), "family": "llama3", "default_system": None,
                   "bos": "<|begin_of_text|>", "eos": "<|end_of_text|>"},
        "llama2": {"source": {"inline": LLAMA2_TEMPLATE}, "text": LLAMA2_TEMPLATE,
                   "family": "llama2", "default_system": None, "bos": "<s>", "eos": "</s>"},
    }
    cases = []
    for name, t in templates.items():
        tpl = env.from_string(t["text"])
        for msgs, gen in CHAT_CASES:
            roles = [m[0] for m in msgs]
            if name == "llama3" and not gen:
                continue  # this template always appends the assistant header
            if name == "qwen3" and roles[-1] == "assistant":
                continue  # Qwen3 adds a <think> block to a trailing assistant turn
            if name == "llama2":
                body = [r for r in roles if r != "system"] if roles[0] == "system" else roles
                if any((r == "user") != (i % 2 == 0) for i, r in enumerate(body)):
                    continue
            text = tpl.render(messages=[{"role": r, "content": c} for r, c in msgs],
                              add_generation_prompt=gen, bos_token=t["bos"],
                              eos_token=t["eos"])
            if t["bos"] and text.startswith(t["bos"]):
                text = text[len(t["bos"]):]  # RenderChat leaves BOS to the tokenizer
            cases.append({"template": name, "messages": [{"role": r, "content": c} for r, c in msgs],
                          "add_generation_prompt": gen, "expected": text})
    out_templates = {k: {"source": v["source"], "family": v["family"],
                         "default_system": v["default_system"]} for k, v in templates.items()}
    return {"templates": out_templates, "cases": cases}


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared", "data"))
    ap.add_argument("--model", default=os.path.join(REPO, "models",
                                                    "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--llama-python", default=os.environ.get("LLAMA_CPP_PYTHON", sys.executable),
                    help="python interpreter that can import llama_cpp")
    ap.add_argument("--no-llama-cpp", action="store_true",
                    help="reference the GGUF tokenizers with `tokenizers` instead of llama.cpp")
    args = ap.parse_args()
    from tokenizers import Tokenizer

    os.makedirs(OUT, exist_ok=True)
    gen_docs = generate_corpus(SEED)
    with open(os.path.join(OUT, "corpus_generated.jsonl"), "w", encoding="utf-8") as f:
        for d in gen_docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    docs = list(gen_docs)
    essays = []
    for name in ESSAYS:
        data = open(os.path.join(args.shared, ESSAY_DIR, name), "rb").read()
        chunks = essay_chunks(data)
        essays.append({"path": f"{ESSAY_DIR}/{name}", "size": len(data),
                       "fnv1a64": f"{fnv1a64(data):016x}", "chunks": chunks})
        docs += [data[o:o + n].decode("utf-8") for o, n in chunks]
    n_bytes = sum(len(d.encode()) for d in docs)
    print(f"corpus: {len(docs)} documents ({len(gen_docs)} generated), {n_bytes} bytes")

    tokenizers_meta = []

    def add(name, ids, meta):
        write_ids(os.path.join(OUT, f"ids_{name}.bin"), ids)
        meta = dict(meta, name=name, ids=f"ids_{name}.bin", n_tokens=sum(len(x) for x in ids))
        tokenizers_meta.append(meta)
        print(f"{name}: {meta['n_tokens']} tokens ({meta['reference']})")

    # (a) SmolLM2 GGUF.
    if args.no_llama_cpp:
        ref = "tokenizers " + __import__("tokenizers").__version__ + \
              " BPE from the GGUF vocab/merges + SmolLM2 pre-tokenizer"
        smol_ids = hf_ids(hf_from_smollm_gguf(args.model), docs)
    else:
        smol_ids, ver = llama_cpp_ids(args.llama_python, args.model, docs, special=False)
        ref = f"llama.cpp via llama-cpp-python {ver} (vocab_only, special=False)"
        # Cross-check against the `tokenizers` construction, which always parses special
        # tokens: compare with llama.cpp's special=True ids (report only).
        hf = hf_ids(hf_from_smollm_gguf(args.model), docs)
        special_ids, _ = llama_cpp_ids(args.llama_python, args.model, docs, special=True)
        diff = sum(1 for a, b in zip(special_ids, hf) if a != b)
        print(f"smollm2: llama.cpp (special=True) vs tokenizers-from-GGUF differ on {diff} "
              "documents")
    # `tokenizers` always splits special tokens out of the text, llama.cpp only with special=True.
    add("smollm2_gguf", smol_ids, {"kind": "gguf", "path": {"model": "default"},
                                  "parse_special": args.no_llama_cpp, "reference": ref})

    # (b) tokenizer.json files.
    nfc_changed = [i for i, d in enumerate(docs) if unicodedata.normalize("NFC", d) != d]
    for name in ("llama3", "qwen3", "mistral"):
        rel = f"tokenizers/{name}/tokenizer.json"
        tok = Tokenizer.from_file(os.path.join(args.shared, rel))
        ids = hf_ids(tok, docs)
        add(f"{name}_json", ids, {"kind": "json", "path": {"shared": rel}, "parse_special": True,
                                  "reference": "tokenizers " + __import__("tokenizers").__version__
                                               + " encode(add_special_tokens=False)"})
        if name == "mistral":
            mistral_ids = ids

    # SentencePiece GGUF.
    spm_path = os.path.join(OUT, "mistral_spm.gguf")
    write_spm_gguf(os.path.join(args.shared, "tokenizers/mistral/tokenizer.json"), spm_path)
    print(f"mistral_spm.gguf: {os.path.getsize(spm_path)} bytes")
    if args.no_llama_cpp:
        tokenizers_meta.append({
            "name": "mistral_spm_gguf", "kind": "gguf", "parse_special": True,
            "path": {"fixture": "tokenizer/mistral_spm.gguf"}, "ids": "ids_mistral_json.bin",
            "n_tokens": sum(len(x) for x in mistral_ids),
            "reference": "the mistral tokenizer.json reference (llama.cpp not used)"})
    else:
        spm_ids, ver = llama_cpp_ids(args.llama_python, spm_path, docs, special=True)
        diff = [i for i, (a, b) in enumerate(zip(spm_ids, mistral_ids)) if a != b]
        print(f"mistral_spm_gguf: llama.cpp vs tokenizer.json reference differ on {len(diff)} "
              f"documents {diff[:20]}")
        meta = {"kind": "gguf", "path": {"fixture": "tokenizer/mistral_spm.gguf"},
                "parse_special": True,
                "reference": f"llama.cpp via llama-cpp-python {ver} (vocab_only, special=True)"}
        stale = os.path.join(OUT, "ids_mistral_spm_gguf.bin")
        if not diff:
            # Same ids as the tokenizer.json reference: share its file.
            if os.path.exists(stale):
                os.remove(stale)
            tokenizers_meta.append(dict(meta, name="mistral_spm_gguf",
                                        ids="ids_mistral_json.bin",
                                        n_tokens=sum(len(x) for x in spm_ids)))
        else:
            add("mistral_spm_gguf", spm_ids, meta)

    # Pipeline variants.
    variants = []
    for name, base, patch in VARIANTS:
        tok = Tokenizer.from_str(json.dumps(variant_json(args.shared, base, patch)))
        ids = hf_ids(tok, gen_docs[:VARIANT_DOCS])
        write_ids(os.path.join(OUT, f"ids_variant_{name}.bin"), ids)
        variants.append({"name": name, "base": f"tokenizers/{base}/tokenizer.json",
                         "set": patch, "ids": f"ids_variant_{name}.bin"})
        print(f"variant {name}: {sum(len(x) for x in ids)} tokens")

    manifest = {
        "seed": SEED,
        "generated": "corpus_generated.jsonl",
        "n_generated": len(gen_docs),
        "essays": essays,
        "n_documents": len(docs),
        "n_bytes": n_bytes,
        "nfc_changed": nfc_changed,
        "tokenizers": tokenizers_meta,
        "variant_docs": VARIANT_DOCS,
        "variants": variants,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)

    chat = render_chat_fixtures(args.model, args.shared)
    with open(os.path.join(OUT, "chat_templates.json"), "w", encoding="utf-8") as f:
        json.dump(chat, f, ensure_ascii=False, indent=1)
    print(f"chat_templates.json: {len(chat['cases'])} cases")
    total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT, "*")))
    print(f"fixtures total: {total} bytes")


if __name__ == "__main__":
    main()
