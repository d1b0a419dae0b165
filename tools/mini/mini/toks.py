"""Tokenizers: the real CLIP BPE (as a HuggingFace tokenizer.json) and a SentencePiece
Unigram tokenizer trained on the captions (also written as tokenizer.json), plus the
mini-CLIP vocabulary remap and the case files the Java SDK tests against."""
from __future__ import annotations

import gzip
import json
import os
from typing import Dict, List

import numpy as np

from . import data

CLIP_BOS, CLIP_EOS = 49406, 49407
CLIP_VOCAB_SIZE = 49408
CLIP_MAX_LEN = 77
CLIP_SPLIT_REGEX = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

T5_PAD, T5_EOS, T5_UNK = 0, 1, 2
T5_N_SENTINELS = 8


def _bytes_to_unicode() -> Dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def build_clip_tokenizer(bpe_path: str):
    """CLIP BPE exactly as OpenAI's SimpleTokenizer lays out its 49408 ids."""
    from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1:49152 - 256 - 2 + 1]]
    byte_chars = list(_bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == CLIP_VOCAB_SIZE
    tok = Tokenizer(models.BPE(vocab={v: i for i, v in enumerate(vocab)}, merges=merges,
                               unk_token="<|endoftext|>", continuing_subword_prefix="",
                               end_of_word_suffix="</w>", fuse_unk=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(),
                                           normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT_REGEX), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>",
        pair="<|startoftext|> $A <|endoftext|> $B <|endoftext|>",
        special_tokens=[("<|startoftext|>", CLIP_BOS), ("<|endoftext|>", CLIP_EOS)])
    return tok


def caption_atoms() -> List[str]:
    """Every word/phrase the caption grammar can emit (for vocabulary coverage)."""
    atoms = list(data.SHAPES) + list(data.COLOURS) + [w for ws in data.SIZE_WORDS for w in ws]
    atoms += [p for ps in data.CELL_PHRASES for p in ps]
    atoms += [p for ps in data.REL_PHRASES.values() for p in ps]
    for t in data.SINGLE_TEMPLATES + data.SINGLE_POS_TEMPLATES + data.PAIR_TEMPLATES:
        atoms.append(t.replace("{o}", " ").replace("{p}", " ").replace("{a}", " ")
                     .replace("{b}", " ").replace("{r}", " "))
    atoms.append("a an the")
    return atoms


def clip_remap(tok) -> Dict:
    """Local vocabulary of mini-CLIP: id 0 = any CLIP id outside the caption grammar (UNK),
    then <|startoftext|>, <|endoftext|>, then the caption tokens in CLIP-id order."""
    ids = set()
    for a in caption_atoms():
        ids.update(tok.encode(a).ids)
    ids -= {CLIP_BOS, CLIP_EOS}
    local = [CLIP_BOS, CLIP_EOS] + sorted(ids)
    table = np.zeros(CLIP_VOCAB_SIZE, dtype=np.int64)
    for i, cid in enumerate(local):
        table[cid] = i + 1
    return {"clip_ids": local, "table": table,
            "tokens": {str(cid): tok.id_to_token(cid) for cid in local}}


def clip_encode_batch(tok, texts: List[str], max_len: int = CLIP_MAX_LEN):
    """Pad with <|endoftext|> (49407) to max_len, mask 1 on <|startoftext|>..<|endoftext|>.
    Longer texts are cut to max_len-1 tokens plus the end token."""
    ids = np.full((len(texts), max_len), CLIP_EOS, dtype=np.int64)
    mask = np.zeros((len(texts), max_len), dtype=np.int64)
    for i, enc in enumerate(tok.encode_batch(texts)):
        e = enc.ids
        if len(e) > max_len:
            e = e[:max_len - 1] + [CLIP_EOS]
        ids[i, :len(e)] = e
        mask[i, :len(e)] = 1
    return ids, mask


# ----------------------------------------------------------------------------- T5 / Unigram

def train_t5_spm(captions: List[str], out_dir: str, vocab_size: int = 160) -> str:
    import sentencepiece as spm
    os.makedirs(out_dir, exist_ok=True)
    corpus = os.path.join(out_dir, "t5_corpus.txt")
    with open(corpus, "w") as f:
        for c in captions:
            f.write(c + "\n")
    prefix = os.path.join(out_dir, "spiece")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="unigram", vocab_size=vocab_size,
        hard_vocab_limit=False, pad_id=T5_PAD, eos_id=T5_EOS, unk_id=T5_UNK, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", character_coverage=1.0,
        normalization_rule_name="nmt_nfkc_cf", num_threads=2, seed_sentencepiece_size=100000,
        minloglevel=2)
    return prefix + ".model"


def build_t5_tokenizer(spm_path: str):
    """tokenizer.json equivalent of the SentencePiece model: Unigram model, Metaspace
    pre-tokenizer, `</s>` appended, pad id 0, sentinels <extra_id_i> appended after the
    pieces. Normalizer: NFKC, lowercase, whitespace runs -> one space, strip."""
    import sentencepiece as spm
    from tokenizers import Tokenizer, Regex, models, normalizers, pre_tokenizers, decoders, processors
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    vocab = []
    for i in range(sp.get_piece_size()):
        score = sp.get_score(i)
        if sp.is_control(i) or sp.is_unknown(i):
            score = 0.0
        vocab.append((sp.id_to_piece(i), float(score)))
    tok = Tokenizer(models.Unigram(vocab, unk_id=T5_UNK, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.add_special_tokens(["<pad>", "</s>", "<unk>"])
    tok.add_special_tokens([f"<extra_id_{i}>" for i in range(T5_N_SENTINELS)])
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", T5_EOS)])
    return tok


def t5_encode_batch(tok, texts: List[str], max_len: int = CLIP_MAX_LEN):
    """Pad with <pad> (0) to max_len; mask 1 on real tokens including </s>.
    Longer texts are cut to max_len-1 tokens plus </s>."""
    ids = np.full((len(texts), max_len), T5_PAD, dtype=np.int64)
    mask = np.zeros((len(texts), max_len), dtype=np.int64)
    for i, enc in enumerate(tok.encode_batch(texts)):
        e = enc.ids
        if len(e) > max_len:
            e = e[:max_len - 1] + [T5_EOS]
        ids[i, :len(e)] = e
        mask[i, :len(e)] = 1
    return ids, mask


AWKWARD = [
    "", "a", "A SMALL RED CIRCLE IN THE CENTER", "A Big Blue Square, To The Left Of A Little Star",
    "  a   small   red circle  ", "a small red circle\tabove\na large blue square",
    "a small red circle, on a background!", "a tiny magenta hexagon", "two circles: 1 red & 1 blue",
    "café au lait", "naïve résumé from Zürich", "東京タワー", "a cat 🐱 and a rocket 🚀",
    "don't stop", "3.14159 and 50% off", "under_score hyphen-ated slash/separated (parens)",
    "a small red circle to the left of a large blue square " * 8,
]


def case_texts(seed: int = 7, n_captions: int = 40) -> List[str]:
    rng = np.random.default_rng([seed, 99])
    texts = []
    for i in range(n_captions):
        lab = data.sample_labels(rng)
        cap, _ = data.make_caption(lab, rng)
        texts.append(cap)
    return texts + AWKWARD


def write_cases(tok, texts: List[str], path: str) -> None:
    """Same format as shared/conformance/clip_tokenizer_cases.json: no padding, no truncation,
    ASCII file with \\u escapes."""
    with open(path, "w") as f:
        f.write("[\n")
        for i, t in enumerate(texts):
            rec = json.dumps({"text": t, "ids": tok.encode(t).ids}, ensure_ascii=True,
                             separators=(",", ":"))
            f.write(rec + (",\n" if i + 1 < len(texts) else "\n"))
        f.write("]\n")
