package dev.ediff.core.text;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece Unigram segmentation: the split of a piece into vocabulary entries with the largest
 * total log-probability (Viterbi over a char trie of the vocabulary). A character no entry starts
 * with becomes the unknown token, scored {@code min score - 10}, and consecutive unknown characters
 * are fused into one, as HuggingFace does. Ties keep the first candidate found, scanning start
 * positions left to right and, at each, entries from shortest to longest (HuggingFace's order).
 */
final class UnigramModel {

    /** The unknown-token penalty of SentencePiece and HuggingFace. */
    static final double UNK_PENALTY = 10.0;

    /** One token of a segmentation, as char offsets into the piece. */
    record Span(int start, int end, int id) {
    }

    private static final class Node {
        final Map<Character, Node> children = new HashMap<>(4);
        int id = -1;
    }

    private final String[] pieces;
    private final double[] scores;
    private final int unk;
    private final double unkScore;
    private final Node root = new Node();

    UnigramModel(String[] pieces, double[] scores, int unk) {
        this.pieces = pieces;
        this.scores = scores;
        this.unk = unk;
        double min = Double.POSITIVE_INFINITY;
        for (int id = 0; id < pieces.length; id++) {
            min = Math.min(min, scores[id]);
            Node n = root;
            String p = pieces[id];
            if (p.isEmpty()) {
                continue;
            }
            for (int i = 0; i < p.length(); i++) {
                n = n.children.computeIfAbsent(p.charAt(i), c -> new Node());
            }
            if (n.id < 0) {
                n.id = id;
            }
        }
        this.unkScore = (pieces.length == 0 ? 0 : min) - UNK_PENALTY;
    }

    int size() {
        return pieces.length;
    }

    String piece(int id) {
        return pieces[id];
    }

    /**
     * The best segmentation of {@code s}.
     *
     * @throws IllegalStateException if a character is unknown and the model has no unknown token
     */
    List<Span> segment(String s) {
        int n = s.length();
        double[] best = new double[n + 1];
        int[] from = new int[n + 1];
        int[] id = new int[n + 1];
        boolean[] reached = new boolean[n + 1];
        reached[0] = true;
        for (int i = 0; i < n; ) {
            int charLen = Character.charCount(s.codePointAt(i));
            if (!reached[i]) {
                i += charLen;
                continue;
            }
            boolean single = false;
            Node node = root;
            for (int j = i; j < n; j++) {
                node = node.children.get(s.charAt(j));
                if (node == null) {
                    break;
                }
                if (node.id >= 0 && (j + 1 == n || !Character.isLowSurrogate(s.charAt(j + 1)))) {
                    relax(best, from, id, reached, i, j + 1, node.id, scores[node.id]);
                    single |= j + 1 - i == charLen;
                }
            }
            if (!single) {
                if (unk < 0) {
                    throw new IllegalStateException("character '" + s.substring(i, i + charLen)
                            + "' is not in the vocabulary and the model has no unknown token");
                }
                relax(best, from, id, reached, i, i + charLen, unk, unkScore);
            }
            i += charLen;
        }
        List<Span> reversed = new ArrayList<>();
        for (int end = n; end > 0; end = from[end]) {
            int start = from[end];
            if (id[end] == unk && !reversed.isEmpty() && reversed.get(reversed.size() - 1).id() == unk) {
                // fuse runs of unknown characters into one token
                Span next = reversed.remove(reversed.size() - 1);
                reversed.add(new Span(start, next.end(), unk));
            } else {
                reversed.add(new Span(start, end, id[end]));
            }
        }
        List<Span> out = new ArrayList<>(reversed.size());
        for (int k = reversed.size() - 1; k >= 0; k--) {
            out.add(reversed.get(k));
        }
        return out;
    }

    private static void relax(double[] best, int[] from, int[] id, boolean[] reached, int start, int end, int token, double score) {
        double candidate = best[start] + score;
        if (!reached[end] || candidate > best[end]) {
            best[end] = candidate;
            from[end] = start;
            id[end] = token;
            reached[end] = true;
        }
    }
}
