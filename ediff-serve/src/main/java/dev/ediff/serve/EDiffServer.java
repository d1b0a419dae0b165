package dev.ediff.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ediff.api.CancelledException;
import dev.ediff.api.Generation;
import dev.ediff.api.Progress;
import dev.ediff.api.Sample;
import dev.ediff.api.TensorShape;
import dev.ediff.core.EDiff;
import dev.ediff.core.Stage;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;
import dev.ediff.core.sampling.Samplers;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The paint-with-words canvas in the browser: one page and a small JSON API over an {@link EDiff}
 * ({@code ediff serve}).
 *
 * <pre>{@code
 * try (EDiff ediff = EDiff.openDefault();
 *      EDiffServer server = EDiffServer.start(ediff, "127.0.0.1", 8080, Limits.defaults())) {
 *     System.out.println("open " + server.uri());
 *     server.awaitClose();
 * }
 * }</pre>
 *
 * <p>It runs on the JDK's own {@code com.sun.net.httpserver}: one page, a handful of JSON endpoints
 * and a progress stream need no more, and every dependency of the SDK is one its users must carry.
 *
 * <p>Safe by default: a loopback address answers only requests addressed to a loopback host name
 * (no DNS rebinding); request bodies and uploaded images are size-limited before they are read or
 * decoded; generations wait in a bounded queue and one more is answered "busy" (HTTP 429); every
 * bad field is answered with a JSON error naming it; the client names no server path (pages are a
 * fixed set of resources, jobs are looked up by server-made ids).
 *
 * <p>The API (JSON unless said otherwise):
 * <ul>
 *   <li>{@code GET /api/model}: the model's name, output size, stages, samplers and defaults, and the limits;</li>
 *   <li>{@code POST /api/tokens {"prompt", "phrases": [..]}}: the prompt's words, each encoder's tokens,
 *       and each phrase's token span per encoder;</li>
 *   <li>{@code POST /api/generate {prompt, negativePrompt, seed, count, steps, sampler, guidance, t5, clip,
 *       layout, style: {image, strength}, paints: [{phrase, weight, mask}]}} (images as data URLs): 202 with the job id,
 *       400 naming a bad field, 429 when the queue is full;</li>
 *   <li>{@code GET /api/jobs/ID}: state, latest progress, painted regions, images and parameters;</li>
 *   <li>{@code GET /api/jobs/ID/events}: the same as server-sent events ({@code status} events, a last {@code end});</li>
 *   <li>{@code POST /api/jobs/ID/cancel}: cancels through the SDK's cancellation token;</li>
 *   <li>{@code GET /api/jobs/ID/images/N.png}: image N as PNG with the generation parameters in its text chunks.</li>
 * </ul>
 *
 * <p>The server does not own the {@link EDiff}: {@link #close} stops the server and its
 * generations, and the caller closes the model afterwards.
 */
public final class EDiffServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> PAGES = Map.of(
            "/", "index.html",
            "/index.html", "index.html",
            "/app.js", "app.js",
            "/app.css", "app.css");
    private static final Pattern JOB = Pattern.compile("/api/jobs/([0-9a-f]{16})(/events|/cancel|/images/(\\d{1,3})\\.png)?");
    private static final Pattern LOOPBACK_V4 = Pattern.compile("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    private static final long KEEPALIVE_MILLIS = 15_000;

    private final EDiff ediff;
    private final Limits limits;
    private final HttpServer http;
    private final ExecutorService handlers;
    private final ThreadPoolExecutor generations;
    private final boolean loopback;
    private final Path scratch;
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    private final AtomicInteger streams = new AtomicInteger();
    private final SecureRandom ids = new SecureRandom();
    private final java.util.concurrent.CountDownLatch closedLatch = new java.util.concurrent.CountDownLatch(1);
    private volatile boolean closed;

    private EDiffServer(EDiff ediff, Limits limits, HttpServer http, boolean loopback, Path scratch) {
        this.ediff = ediff;
        this.limits = limits;
        this.http = http;
        this.loopback = loopback;
        this.scratch = scratch;
        AtomicInteger n = new AtomicInteger();
        // progress streams hold a thread each: room for all of them plus the short requests
        this.handlers = Executors.newFixedThreadPool(limits.maxStreams() + 8, r -> daemon(r, "ediff-serve-http-" + n.incrementAndGet()));
        this.generations = new ThreadPoolExecutor(limits.workers(), limits.workers(), 0, TimeUnit.MILLISECONDS,
                limits.queue() == 0 ? new java.util.concurrent.SynchronousQueue<>() : new ArrayBlockingQueue<>(limits.queue()),
                r -> daemon(r, "ediff-serve-generate-" + n.incrementAndGet()), new ThreadPoolExecutor.AbortPolicy());
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Starts serving {@code ediff} on {@code host:port}.
     *
     * @param ediff the open model to serve; the server does not own it (close it after the server)
     * @param host  the address to bind; {@code 127.0.0.1} (loopback) unless the server should be reachable
     *              from other machines
     * @param port  the port, or 0 for a free one (see {@link #port()})
     * @param limits what the server accepts
     * @return the running server; {@link #close} stops it
     * @throws IllegalArgumentException for an unknown host or a port outside 0..65535
     * @throws UncheckedIOException     when the address cannot be bound (the message names it)
     */
    public static EDiffServer start(EDiff ediff, String host, int port, Limits limits) {
        Objects.requireNonNull(ediff, "ediff");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(limits, "limits");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in 0..65535 (0 = any free port), got " + port);
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (IOException e) {
            throw new IllegalArgumentException("unknown host '" + host + "': give an address such as 127.0.0.1");
        }
        HttpServer http;
        Path scratch;
        try {
            http = HttpServer.create(new InetSocketAddress(address, port), 64);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on " + host + ":" + port + ": " + e.getMessage()
                    + " (is the port in use? choose another with --port)", e);
        }
        try {
            scratch = Files.createTempDirectory("ediff-serve");
        } catch (IOException e) {
            http.stop(0);
            throw new UncheckedIOException("cannot create a temporary folder for PNG files: " + e.getMessage(), e);
        }
        EDiffServer server = new EDiffServer(ediff, limits, http, address.isLoopbackAddress(), scratch);
        http.setExecutor(server.handlers);
        http.createContext("/", server::handle);
        http.start();
        return server;
    }

    /** {@return the port the server listens on} */
    public int port() {
        return http.getAddress().getPort();
    }

    /** {@return the page's address, e.g. {@code http://127.0.0.1:8080/}} */
    public URI uri() {
        InetSocketAddress a = http.getAddress();
        String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + a.getPort() + "/");
    }

    /** {@return the limits this server enforces} */
    public Limits limits() {
        return limits;
    }

    /**
     * Blocks until {@link #close} was called (from another thread or a shutdown hook).
     *
     * @throws InterruptedException if the calling thread is interrupted while waiting
     */
    public void awaitClose() throws InterruptedException {
        closedLatch.await();
    }

    /**
     * Stops listening, cancels queued and running generations, waits (up to 30 s) for them to release
     * the model, and deletes the server's temporary files. Idempotent; does not close the {@link EDiff}.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<Job> all;
        synchronized (jobs) {
            all = new ArrayList<>(jobs.values());
        }
        all.forEach(j -> j.cancellation().cancel());
        generations.shutdownNow();
        try {
            if (!generations.awaitTermination(30, TimeUnit.SECONDS)) {
                System.err.println("ediff serve: a generation did not stop within 30 s of cancellation");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // jobs that never started are finished now, so their progress streams end
        all.forEach(j -> j.cancelled("the server is shutting down", 0));
        http.stop(0);
        handlers.shutdownNow();
        try (var files = Files.list(scratch)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(scratch);
        } catch (IOException e) {
            System.err.println("ediff serve: could not delete " + scratch + ": " + e.getMessage());
        }
        closedLatch.countDown();
    }

    // ---------------------------------------------------------------- routing

    private void handle(HttpExchange ex) {
        try (ex) {
            try {
                route(ex);
            } catch (FieldException e) {
                ObjectNode err = JSON.createObjectNode().put("error", e.getMessage());
                if (!e.field().isEmpty()) {
                    err.put("field", e.field());
                }
                send(ex, 400, err);
            } catch (HttpError e) {
                send(ex, e.status, JSON.createObjectNode().put("error", e.getMessage()));
            } catch (IOException e) {
                // the client went away; nothing to answer
            } catch (RuntimeException e) {
                send(ex, 500, JSON.createObjectNode().put("error", "internal error: " + e));
            }
        } catch (IOException ignored) {
            // the client went away while we answered an error
        }
    }

    /** An error answer with a status and a one-line message. */
    private static final class HttpError extends RuntimeException {
        final int status;

        HttpError(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private void route(HttpExchange ex) throws IOException {
        checkHost(ex);
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        String page = PAGES.get(path);
        if (page != null) {
            requireMethod(method, "GET");
            sendResource(ex, page);
            return;
        }
        switch (path) {
            case "/api/model" -> {
                requireMethod(method, "GET");
                send(ex, 200, model());
                return;
            }
            case "/api/tokens" -> {
                requireMethod(method, "POST");
                send(ex, 200, tokens(readJson(ex)));
                return;
            }
            case "/api/generate" -> {
                requireMethod(method, "POST");
                generate(ex, readJson(ex));
                return;
            }
            default -> {
            }
        }
        Matcher m = JOB.matcher(path);
        if (!m.matches()) {
            throw new HttpError(404, "no such page or endpoint: " + path + " (the API is under /api/, see the README)");
        }
        Job job;
        synchronized (jobs) {
            job = jobs.get(m.group(1));
        }
        if (job == null) {
            throw new HttpError(404, "no generation " + m.group(1) + " (finished ones are kept for the last "
                    + limits.keepJobs() + " generations)");
        }
        String tail = m.group(2);
        if (tail == null) {
            requireMethod(method, "GET");
            send(ex, 200, status(job, job.snapshot()));
        } else if (tail.equals("/events")) {
            requireMethod(method, "GET");
            stream(ex, job);
        } else if (tail.equals("/cancel")) {
            requireMethod(method, "POST");
            checkOrigin(ex);
            job.cancellation().cancel();
            send(ex, 202, status(job, job.snapshot()));
        } else {
            requireMethod(method, "GET");
            sendImage(ex, job, Integer.parseInt(m.group(3)));
        }
    }

    private static void requireMethod(String method, String expected) {
        if (!method.equals(expected) && !(expected.equals("GET") && method.equals("HEAD"))) {
            throw new HttpError(405, "method " + method + " not allowed here; use " + expected);
        }
    }

    /**
     * On a loopback address, answers only requests for a loopback host name: a web page elsewhere that
     * rebinds its own name to 127.0.0.1 cannot reach the API.
     */
    private void checkHost(HttpExchange ex) {
        if (!loopback) {
            return;
        }
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null) {
            throw new HttpError(400, "a Host header is required");
        }
        String name = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) : host.replaceFirst(":\\d+$", "");
        name = name.toLowerCase(Locale.ROOT);
        if (!(name.equals("localhost") || name.equals("[::1]") || LOOPBACK_V4.matcher(name).matches())) {
            throw new HttpError(403, "this server listens on a loopback address and answers only to localhost, "
                    + "127.0.0.1 or [::1], not to Host '" + host + "'");
        }
    }

    /** A state-changing request from a browser must come from this server's own page. */
    private static void checkOrigin(HttpExchange ex) {
        String origin = ex.getRequestHeaders().getFirst("Origin");
        String host = ex.getRequestHeaders().getFirst("Host");
        if (origin != null && !origin.equals("null") && host != null && !origin.equalsIgnoreCase("http://" + host)) {
            throw new HttpError(403, "cross-origin request from " + origin + " refused");
        }
    }

    private JsonNode readJson(HttpExchange ex) throws IOException {
        checkOrigin(ex);
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new HttpError(415, "the request body must be JSON (Content-Type: application/json), got " + type);
        }
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new HttpError(400, "bad Content-Length: " + length);
            }
            if (n > limits.maxBodyBytes()) {
                throw new HttpError(413, "the request is " + n + " bytes; this server takes at most "
                        + limits.maxBodyBytes() + " bytes (smaller images, or start it with larger limits)");
            }
        }
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readNBytes(limits.maxBodyBytes() + 1);
        }
        if (body.length > limits.maxBodyBytes()) {
            throw new HttpError(413, "the request is larger than " + limits.maxBodyBytes()
                    + " bytes, the most this server takes");
        }
        try {
            return JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new FieldException("", "the request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    // ---------------------------------------------------------------- endpoints

    private ObjectNode model() {
        ObjectNode m = JSON.createObjectNode();
        m.put("name", ediff.name());
        Stage last = ediff.stages().get(ediff.stages().size() - 1);
        m.put("width", last.sampleShape().width());
        m.put("height", last.sampleShape().height());
        ArrayNode stages = m.putArray("stages");
        for (Stage s : ediff.stages()) {
            TensorShape shape = s.sampleShape();
            stages.addObject().put("name", s.name()).put("width", shape.width()).put("height", shape.height())
                    .put("sampler", s.defaultSampler().name()).put("steps", s.defaultSteps())
                    .put("guidance", s.defaultGuidance().scale()).put("superResolution", s.isSuperResolution());
        }
        Stage first = ediff.stages().get(0);
        m.putObject("defaults").put("sampler", first.defaultSampler().name()).put("steps", first.defaultSteps())
                .put("guidance", first.defaultGuidance().scale());
        ArrayNode samplers = m.putArray("samplers");
        Samplers.NAMES.forEach(samplers::add);
        ArrayNode encoders = m.putArray("encoders");
        ediff.textEncoders().keySet().stream().sorted().forEach(encoders::add);
        m.putObject("limits").put("maxBodyBytes", limits.maxBodyBytes()).put("maxImagePixels", limits.maxImagePixels())
                .put("maxCount", limits.maxCount()).put("maxSteps", limits.maxSteps()).put("maxPhrases", limits.maxPhrases())
                .put("queue", limits.queue());
        return m;
    }

    private ObjectNode tokens(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new FieldException("", "the request body must be a JSON object {\"prompt\", \"phrases\"}");
        }
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!f.equals("prompt") && !f.equals("phrases")) {
                throw new FieldException(f, "unknown field '" + f + "'; known fields: phrases, prompt");
            }
        }
        if (body.get("prompt") == null || !body.get("prompt").isTextual()) {
            throw new FieldException("prompt", "prompt must be a string, got " + body.get("prompt"));
        }
        String prompt = GenerateForm.promptText(body, "prompt");
        List<String> phrases = new ArrayList<>();
        JsonNode ps = body.get("phrases");
        if (ps != null && !ps.isNull()) {
            if (!ps.isArray()) {
                throw new FieldException("phrases", "phrases must be an array of strings");
            }
            if (ps.size() > limits.maxPhrases()) {
                throw new FieldException("phrases", "at most " + limits.maxPhrases() + " phrases on this server, got " + ps.size());
            }
            for (int i = 0; i < ps.size(); i++) {
                if (!ps.get(i).isTextual()) {
                    throw new FieldException("phrases[" + i + "]", "phrases[" + i + "] must be a string, got " + ps.get(i));
                }
                phrases.add(ps.get(i).asText());
            }
        }
        return PromptTokens.of(ediff, prompt, phrases);
    }

    private void generate(HttpExchange ex, JsonNode body) throws IOException {
        if (closed) {
            throw new HttpError(503, "the server is shutting down");
        }
        GenerateForm form = GenerateForm.parse(body, ediff, limits);
        Job job = new Job(newId(), form.paints());
        synchronized (jobs) {
            try {
                generations.execute(() -> run(job, form));
            } catch (RejectedExecutionException e) {
                ObjectNode busy = JSON.createObjectNode().put("error", "busy: " + limits.workers() + " generation(s) running and "
                        + limits.queue() + " waiting, the most this server queues; try again when one finishes").put("busy", true);
                ex.getResponseHeaders().set("Retry-After", "2");
                send(ex, 429, busy);
                return;
            }
            jobs.put(job.id(), job);
            forgetOldJobs();
        }
        ObjectNode ok = JSON.createObjectNode().put("id", job.id()).put("status", "/api/jobs/" + job.id())
                .put("events", "/api/jobs/" + job.id() + "/events");
        send(ex, 202, ok);
    }

    private String newId() {
        byte[] b = new byte[8];
        ids.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void forgetOldJobs() {
        Iterator<Job> it = jobs.values().iterator();
        int excess = jobs.size() - limits.keepJobs();
        while (excess > 0 && it.hasNext()) {
            if (it.next().snapshot().state().finished()) {
                it.remove();
                excess--;
            }
        }
    }

    /** Runs on a generation worker. */
    private void run(Job job, GenerateForm form) {
        long t0 = System.nanoTime();
        if (job.cancellation().isCancelled()) {
            job.cancelled("cancelled before it started", 0);
            return;
        }
        job.running();
        try {
            Generation g = ediff.generate(form.builder().cancellation(job.cancellation()).onProgress(job::progress).build());
            Map<String, String> params = new LinkedHashMap<>(g.parameters());
            for (int i = 0; i < form.paints().size(); i++) {
                params.put("paint_" + (i + 1), GenerateForm.describe(form.paints().get(i)));
            }
            List<Job.Image> images = new ArrayList<>();
            for (int i = 0; i < g.samples().size(); i++) {
                Sample s = g.sample(i);
                Map<String, String> text = new LinkedHashMap<>(params);
                text.put("seed", Long.toString(s.seed()));
                images.add(new Job.Image(s.seed(), s.shape().width(), s.shape().height(), png(job.id() + "-" + i, s, text)));
            }
            job.done(images, params, (System.nanoTime() - t0) / 1_000_000);
        } catch (CancelledException e) {
            job.cancelled(e.getMessage(), (System.nanoTime() - t0) / 1_000_000);
        } catch (RuntimeException e) {
            job.failed(e.getMessage() == null ? e.toString() : e.getMessage(), (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /** The sample as PNG bytes with {@code text} chunks, written by the SDK's {@link PngFiles}. */
    private byte[] png(String name, Sample s, Map<String, String> text) {
        Path file = scratch.resolve(name + ".png");
        try {
            PngFiles.write(file, Images.toImage(s), text, true);
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read back " + file + ": " + e.getMessage(), e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // removed with the folder on close
            }
        }
    }

    private static ObjectNode status(Job job, Job.Snapshot s) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", job.id());
        o.put("state", s.state().json());
        Progress p = s.progress();
        if (p != null) {
            o.putObject("progress").put("stage", p.stage()).put("step", p.step()).put("totalSteps", p.totalSteps())
                    .put("evaluation", p.evaluation()).put("sigma", p.sigma()).put("expert", p.expert())
                    .put("elapsedMillis", p.elapsed().toMillis());
        }
        ArrayNode paints = o.putArray("paints");
        for (GenerateForm.PaintedRegion r : job.paints()) {
            ObjectNode n = paints.addObject().put("phrase", r.phrase()).put("weight", r.weight()).put("coverage", r.coverage());
            ArrayNode box = n.putArray("box");
            for (double v : r.box()) {
                box.add(v);
            }
        }
        if (s.error() != null) {
            o.put("error", s.error());
        }
        if (s.state().finished()) {
            o.put("millis", s.millis());
        }
        ArrayNode images = o.putArray("images");
        for (int i = 0; i < s.images().size(); i++) {
            Job.Image img = s.images().get(i);
            images.addObject().put("url", "/api/jobs/" + job.id() + "/images/" + i + ".png").put("seed", img.seed())
                    .put("width", img.width()).put("height", img.height());
        }
        ObjectNode params = o.putObject("parameters");
        s.parameters().forEach(params::put);
        return o;
    }

    /** Server-sent events: a {@code status} event per change (latest progress only), then {@code end}. */
    private void stream(HttpExchange ex, Job job) throws IOException {
        if (streams.incrementAndGet() > limits.maxStreams()) {
            streams.decrementAndGet();
            throw new HttpError(503, "too many progress streams open (" + limits.maxStreams()
                    + "); close other tabs or poll GET /api/jobs/ID");
        }
        try {
            Headers h = ex.getResponseHeaders();
            h.set("Content-Type", "text/event-stream; charset=utf-8");
            h.set("Cache-Control", "no-store");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            long seen = -1;
            while (!closed || job.snapshot().state().finished()) {
                Job.Snapshot s;
                try {
                    s = seen < 0 ? job.snapshot() : job.awaitChange(seen, KEEPALIVE_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (s.version() == seen) {
                    out.write(":\n\n".getBytes(StandardCharsets.UTF_8));
                } else {
                    seen = s.version();
                    boolean end = s.state().finished();
                    out.write(("event: " + (end ? "end" : "status") + "\ndata: "
                            + JSON.writeValueAsString(status(job, s)) + "\n\n").getBytes(StandardCharsets.UTF_8));
                    if (end) {
                        out.flush();
                        return;
                    }
                }
                out.flush();
            }
        } finally {
            streams.decrementAndGet();
        }
    }

    private void sendImage(HttpExchange ex, Job job, int index) throws IOException {
        Job.Snapshot s = job.snapshot();
        if (index >= s.images().size()) {
            throw new HttpError(404, "generation " + job.id() + " has " + s.images().size() + " image(s) (state "
                    + s.state().json() + "); no image " + index);
        }
        Job.Image img = s.images().get(index);
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", "image/png");
        h.set("Cache-Control", "private, max-age=3600");
        String query = ex.getRequestURI().getQuery();
        if (query != null && query.contains("download")) {
            h.set("Content-Disposition", "attachment; filename=\"ediff-" + img.seed() + ".png\"");
        }
        sendBytes(ex, 200, img.png());
    }

    private void sendResource(HttpExchange ex, String name) throws IOException {
        byte[] bytes;
        try (InputStream in = EDiffServer.class.getResourceAsStream("web/" + name)) {
            if (in == null) {
                throw new HttpError(500, "the page resource " + name + " is missing from the jar");
            }
            bytes = in.readAllBytes();
        }
        String type = name.endsWith(".js") ? "text/javascript" : name.endsWith(".css") ? "text/css" : "text/html";
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", type + "; charset=utf-8");
        h.set("Cache-Control", "no-cache");
        // the page loads nothing from elsewhere; say so, so an injected script could not either
        h.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                + "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
        h.set("X-Content-Type-Options", "nosniff");
        sendBytes(ex, 200, bytes);
    }

    private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        sendBytes(ex, status, JSON.writeValueAsBytes(body));
    }

    private static void sendBytes(HttpExchange ex, int status, byte[] bytes) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
