package dev.ediff.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ediff.api.Generation;
import dev.ediff.api.Mask;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import dev.ediff.core.Stage;
import dev.ediff.core.image.Images;
import dev.ediff.core.image.PngFiles;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON API against a server on a free port with the default model, through java.net.http. */
class EDiffServerTest {

    static final String PROMPT = "a small red circle above a large blue square";
    static EDiff ediff;
    static EDiffServer server;
    static ServerFixture http;

    @BeforeAll
    static void start() {
        ediff = EDiff.openDefault();
        server = EDiffServer.start(ediff, "127.0.0.1", 0, Limits.builder().maxSteps(800).build());
        http = new ServerFixture(server.uri());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (ediff != null) {
            ediff.close();
        }
    }

    /** A request for a short generation (few steps, so the suite stays fast). */
    static ObjectNode shortRequest() {
        ObjectNode r = ServerFixture.JSON.createObjectNode();
        r.put("prompt", PROMPT).put("seed", 7).put("steps", 6).put("sampler", "euler").put("guidance", 3.0);
        return r;
    }

    @Test
    void theModelEndpointDescribesTheModelsOutputAndDefaults() throws Exception {
        JsonNode m = http.get("/api/model").json();
        Stage last = ediff.stages().get(ediff.stages().size() - 1);
        assertEquals(ediff.name(), m.get("name").asText());
        assertEquals(last.sampleShape().width(), m.get("width").asInt());
        assertEquals(last.sampleShape().height(), m.get("height").asInt());
        assertEquals(ediff.stages().size(), m.get("stages").size());
        List<String> samplers = new ArrayList<>();
        m.get("samplers").forEach(n -> samplers.add(n.asText()));
        assertEquals(Samplers.NAMES, samplers);
        assertEquals(ediff.stages().get(0).defaultSteps(), m.get("defaults").get("steps").asInt());
        assertEquals(800, m.get("limits").get("maxSteps").asInt());
    }

    @Test
    void tokensGiveWordsWithTheirCharactersAndEachPhrasesTokenSpan() throws Exception {
        ObjectNode body = ServerFixture.JSON.createObjectNode().put("prompt", PROMPT);
        body.putArray("phrases").add("red circle").add("green star");
        JsonNode t = http.post("/api/tokens", body).json();
        List<String> words = new ArrayList<>();
        for (JsonNode w : t.get("words")) {
            words.add(w.get("text").asText());
            assertEquals(w.get("text").asText(), PROMPT.substring(w.get("start").asInt(), w.get("end").asInt()));
        }
        assertEquals(List.of(PROMPT.split(" ")), words);
        assertEquals(2, t.get("encoders").size());
        JsonNode red = t.get("phrases").get(0);
        assertFalse(red.has("error"), red.toString());
        for (JsonNode enc : t.get("encoders")) {
            // the tokens inside the span cover exactly the characters of "red circle" in the prompt
            JsonNode span = red.get("spans").get(enc.get("role").asText());
            JsonNode tokens = enc.get("tokens");
            int from = tokens.get(span.get(0).asInt()).get("start").asInt();
            int to = tokens.get(span.get(1).asInt() - 1).get("end").asInt();
            assertEquals("red circle", PROMPT.substring(from, to).trim(), enc.get("role").asText());
        }
        JsonNode green = t.get("phrases").get(1);
        assertTrue(green.get("error").asText().contains("not in the prompt"), green.toString());
    }

    @Test
    void aPaintedGenerationIsTheSdksImageWithItsParametersInThePng(@TempDir Path dir) throws Exception {
        JsonNode model = http.get("/api/model").json();
        BufferedImage mask = ServerFixture.rectangleMask(64, 64, 0, 0, 32, 32); // top-left quarter
        ObjectNode req = shortRequest();
        req.putArray("paints").addObject().put("phrase", "red circle").put("weight", 0.5)
                .put("mask", ServerFixture.dataUrl(mask));
        ServerFixture.Answer a = http.post("/api/generate", req);
        assertEquals(202, a.status(), a.json().toString());
        JsonNode s = http.awaitFinished(a.json().get("id").asText(), Duration.ofSeconds(60));
        assertEquals("done", s.get("state").asText(), s.toString());

        // the server measured the mask it received where it was drawn
        JsonNode paint = s.get("paints").get(0);
        assertEquals("red circle", paint.get("phrase").asText());
        double[] box = new double[4];
        for (int i = 0; i < 4; i++) {
            box[i] = paint.get("box").get(i).asDouble();
        }
        assertArrayEquals(new double[] {0, 0, 0.5, 0.5}, box, 1e-9);
        assertEquals(0.25, paint.get("coverage").asDouble(), 1e-6);

        // the PNG holds the image the SDK makes for the same request, and the parameters
        JsonNode img = s.get("images").get(0);
        byte[] png = http.bytes(img.get("url").asText());
        Path file = Files.write(dir.resolve("got.png"), png);
        BufferedImage got = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(model.get("width").asInt(), got.getWidth());
        assertEquals(model.get("height").asInt(), got.getHeight());
        Generation direct = ediff.generate(Request.prompt(PROMPT).seed(7).steps(6).sampler(Samplers.euler()).guidance(3.0)
                .paint("red circle", Mask.image(mask), 0.5).build());
        assertArrayEquals(pixels(Images.toImage(direct.sample(0))), pixels(got));
        Map<String, String> text = PngFiles.readText(file);
        assertEquals(PROMPT, text.get("prompt"));
        assertEquals("7", text.get("seed"));
        assertEquals("euler", text.get("sampler"));
        assertEquals("6", text.get("steps"));
        assertTrue(text.get("paint_1").startsWith("red circle @ 0.50 in (0.000,0.000)-(0.500,0.500)"), text.toString());
    }

    @Test
    void styleNegativePromptAndEncoderTogglesReachTheSdk() throws Exception {
        BufferedImage style = ServerFixture.rectangleMask(48, 48, 0, 0, 24, 48); // half white, half transparent
        ObjectNode req = shortRequest().put("steps", 3).put("negativePrompt", "blurry").put("t5", false).put("count", 2);
        req.putObject("style").put("image", ServerFixture.dataUrl(style)).put("strength", 1.5);
        ServerFixture.Answer a = http.post("/api/generate", req);
        assertEquals(202, a.status(), a.json().toString());
        JsonNode s = http.awaitFinished(a.json().get("id").asText(), Duration.ofSeconds(60));
        assertEquals("done", s.get("state").asText(), s.toString());
        assertEquals("1.5", s.get("parameters").get("style_strength").asText());
        assertEquals("blurry", s.get("parameters").get("negative_prompt").asText());
        assertEquals(2, s.get("images").size());
        assertEquals(8, s.get("images").get(1).get("seed").asLong());
        Generation direct = ediff.generate(Request.prompt(PROMPT).negativePrompt("blurry").t5(false).count(2).seed(7)
                .steps(3).sampler(Samplers.euler()).guidance(3.0).style(style, 1.5).build());
        for (int i = 0; i < 2; i++) {
            BufferedImage got = ImageIO.read(new ByteArrayInputStream(http.bytes(s.get("images").get(i).get("url").asText())));
            assertArrayEquals(pixels(Images.toImage(direct.sample(i))), pixels(got), "image " + i);
        }
        // no strength given: the default, 2 (session 7's choice on validation prompts)
        ObjectNode plain = shortRequest().put("steps", 1);
        plain.putObject("style").put("image", ServerFixture.dataUrl(style));
        JsonNode d = http.awaitFinished(http.post("/api/generate", plain).json().get("id").asText(), Duration.ofSeconds(60));
        assertEquals("done", d.get("state").asText(), d.toString());
        assertEquals("2.0", d.get("parameters").get("style_strength").asText());
    }

    @Test
    void progressStreamsAsServerSentEventsUntilTheEnd() throws Exception {
        ObjectNode req = shortRequest().put("steps", 5);
        String id = http.post("/api/generate", req).json().get("id").asText();
        HttpResponse<java.util.stream.Stream<String>> r = http.lines("/api/jobs/" + id + "/events");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> events = new ArrayList<>();
        List<JsonNode> data = new ArrayList<>();
        try (var lines = r.body()) {
            for (String line : (Iterable<String>) lines::iterator) {
                if (line.startsWith("event: ")) {
                    events.add(line.substring(7));
                } else if (line.startsWith("data: ")) {
                    data.add(ServerFixture.JSON.readTree(line.substring(6)));
                }
            }
        }
        assertEquals("end", events.get(events.size() - 1));
        assertEquals(events.size(), data.size());
        JsonNode end = data.get(data.size() - 1);
        assertEquals("done", end.get("state").asText());
        // progress evaluations of the base stage come in order (the stream may skip some, never reorder)
        int lastEval = 0;
        String stage = null;
        boolean sawBase = false;
        for (JsonNode d : data) {
            JsonNode p = d.get("progress");
            if (p == null) {
                continue;
            }
            assertNotNull(p.get("expert").asText());
            assertTrue(p.get("sigma").asDouble() >= 0);
            if (!p.get("stage").asText().equals(stage)) {
                stage = p.get("stage").asText();
                lastEval = 0;
            }
            if (stage.equals("base")) {
                sawBase = true;
                assertEquals(5, p.get("totalSteps").asInt());
            }
            // the end event repeats the last progress; otherwise each event is a later evaluation
            assertTrue(p.get("evaluation").asInt() >= lastEval, d.toString());
            lastEval = p.get("evaluation").asInt();
        }
        assertTrue(sawBase, "no progress event of the base stage: " + data);
    }

    @Test
    void everyBadFieldIsAnsweredWithAnErrorNamingIt() throws Exception {
        BufferedImage tiny = ServerFixture.rectangleMask(8, 8, 0, 0, 8, 8);
        BufferedImage empty = ServerFixture.rectangleMask(32, 32, 0, 0, 0, 0);
        String mask = ServerFixture.dataUrl(ServerFixture.rectangleMask(32, 32, 0, 0, 16, 16));
        Map<String, ObjectNode> cases = new java.util.LinkedHashMap<>();
        cases.put("steps", shortRequest().put("steps", 0));
        cases.put("steps ", shortRequest().put("steps", 801));
        cases.put("count", shortRequest().put("count", 99));
        cases.put("sampler", shortRequest().put("sampler", "nope"));
        cases.put("guidance", shortRequest().put("guidance", "strong"));
        cases.put("seed", shortRequest().put("seed", 1.5));
        cases.put("t5", shortRequest().put("t5", "yes"));
        cases.put("layout", shortRequest().put("layout", "no"));
        cases.put("colour", shortRequest().put("colour", "red"));
        ObjectNode style = shortRequest();
        style.putObject("style").put("image", ServerFixture.dataUrl(tiny)).put("strength", 1.0);
        cases.put("style.image", style);
        ObjectNode strength = shortRequest();
        strength.putObject("style").put("image", mask).put("strength", -1.0);
        cases.put("style.strength", strength);
        ObjectNode notImage = shortRequest();
        notImage.putObject("style").put("image", "data:image/png;base64,aGVsbG8=");
        cases.put("style.image ", notImage);
        ObjectNode phrase = shortRequest();
        phrase.putArray("paints").addObject().put("phrase", "green star").put("mask", mask);
        cases.put("paints[0].phrase", phrase);
        ObjectNode weight = shortRequest();
        weight.putArray("paints").addObject().put("phrase", "red circle").put("weight", -1).put("mask", mask);
        cases.put("paints[0].weight", weight);
        ObjectNode nothing = shortRequest();
        nothing.putArray("paints").addObject().put("phrase", "red circle").put("mask", ServerFixture.dataUrl(empty));
        cases.put("paints[0].mask", nothing);
        cases.put("prompt", shortRequest().put("prompt", "a red circle ".repeat(400)));
        ObjectNode many = shortRequest();
        for (int i = 0; i < Limits.defaults().maxPhrases() + 1; i++) {
            many.withArray("paints").addObject().put("phrase", "red circle").put("mask", mask);
        }
        cases.put("paints", many);
        for (var c : cases.entrySet()) {
            ServerFixture.Answer a = http.post("/api/generate", c.getValue());
            assertEquals(400, a.status(), c.getKey() + ": " + a.json());
            assertEquals(c.getKey().trim(), a.json().get("field").asText(), a.json().toString());
            assertFalse(a.json().get("error").asText().isBlank());
        }
        // the SDK's own messages come through
        assertTrue(http.post("/api/generate", cases.get("sampler")).json().get("error").asText().contains("dpmpp_2m"));
        assertTrue(http.post("/api/generate", cases.get("paints[0].phrase")).json().get("error").asText()
                .contains("not in the prompt"));
        ServerFixture.Answer notJson = http.post("/api/generate", "{prompt:");
        assertEquals(400, notJson.status());
        assertTrue(notJson.json().get("error").asText().contains("not valid JSON"));
    }

    @Test
    void sizeTypeHostAndPathLimitsAreAnsweredInJson() throws Exception {
        try (EDiffServer small = EDiffServer.start(ediff, "127.0.0.1", 0, Limits.builder().maxBodyBytes(4096)
                .maxImagePixels(40 * 40).build())) {
            ServerFixture s = new ServerFixture(small.uri());
            ServerFixture.Answer big = s.post("/api/generate", shortRequest().put("negativePrompt", "x".repeat(5000)));
            assertEquals(413, big.status());
            assertTrue(big.json().get("error").asText().contains("4096"));
            ObjectNode style = shortRequest();
            style.putObject("style").put("image", ServerFixture.dataUrl(ServerFixture.rectangleMask(41, 41, 0, 0, 4, 4)));
            ServerFixture.Answer pixels = s.post("/api/generate", style);
            assertEquals(400, pixels.status());
            assertEquals("style.image", pixels.json().get("field").asText());
            assertTrue(pixels.json().get("error").asText().contains("41x41"), pixels.json().toString());
        }
        HttpResponse<String> text = http.raw(HttpRequest.newBuilder(http.uri("/api/generate")).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertEquals(415, text.statusCode());
        HttpResponse<String> cross = http.raw(HttpRequest.newBuilder(http.uri("/api/generate"))
                .header("Content-Type", "application/json").header("Origin", "http://evil.example")
                .POST(HttpRequest.BodyPublishers.ofString(shortRequest().toString())));
        assertEquals(403, cross.statusCode());
        assertEquals(404, http.get("/../pom.xml").status());
        assertEquals(404, http.get("/api/jobs/0123456789abcdef").status());
        assertEquals(404, http.get("/web/app.js").status());
        assertEquals(405, http.get("/api/generate").status());
        // a page elsewhere that rebinds its name to 127.0.0.1 (DNS rebinding) is refused
        for (String host : List.of("evil.example", "127.evil.example")) {
            String answer = rawGet("/api/model", host + ":" + server.port());
            assertTrue(answer.startsWith("HTTP/1.1 403"), host + ": " + answer);
            assertTrue(answer.contains("loopback"), answer);
        }
        assertTrue(rawGet("/api/model", "localhost:" + server.port()).startsWith("HTTP/1.1 200"));
    }

    static String rawGet(String path, String host) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aFullQueueAnswersBusyAndCancelStopsRunningAndQueuedGenerations() throws Exception {
        try (EDiffServer one = EDiffServer.start(ediff, "127.0.0.1", 0, Limits.builder().workers(1).queue(1)
                .maxSteps(Request.MAX_STEPS).build())) {
            ServerFixture s = new ServerFixture(one.uri());
            ObjectNode slow = shortRequest().put("steps", Request.MAX_STEPS);
            String running = s.post("/api/generate", slow).json().get("id").asText();
            awaitProgress(s, running);
            ServerFixture.Answer queued = s.post("/api/generate", slow);
            assertEquals(202, queued.status());
            ServerFixture.Answer busy = s.post("/api/generate", slow);
            assertEquals(429, busy.status(), busy.json().toString());
            assertTrue(busy.json().get("busy").asBoolean());
            assertTrue(busy.json().get("error").asText().startsWith("busy"));

            String waiting = queued.json().get("id").asText();
            assertEquals(202, s.post("/api/jobs/" + waiting + "/cancel", "{}").status());
            assertEquals(202, s.post("/api/jobs/" + running + "/cancel", "{}").status());
            JsonNode r = s.awaitFinished(running, Duration.ofSeconds(20));
            assertEquals("cancelled", r.get("state").asText(), r.toString());
            assertTrue(r.get("progress").get("step").asInt() < Request.MAX_STEPS);
            assertEquals(0, r.get("images").size());
            JsonNode w = s.awaitFinished(waiting, Duration.ofSeconds(20));
            assertEquals("cancelled", w.get("state").asText());
            assertFalse(w.has("progress"), "a generation cancelled while queued never ran: " + w);
            // the worker is free again
            String next = s.post("/api/generate", shortRequest()).json().get("id").asText();
            assertEquals("done", s.awaitFinished(next, Duration.ofSeconds(60)).get("state").asText());
        }
    }

    @Test
    void closeCancelsARunningGenerationAndStopsListening() throws Exception {
        EDiffServer temp = EDiffServer.start(ediff, "127.0.0.1", 0, Limits.builder().maxSteps(Request.MAX_STEPS).build());
        ServerFixture s = new ServerFixture(temp.uri());
        String id = s.post("/api/generate", shortRequest().put("steps", Request.MAX_STEPS)).json().get("id").asText();
        awaitState(s, id, "running");
        long t0 = System.nanoTime();
        temp.close();
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "close waited for the generation to finish");
        assertThrows(java.io.IOException.class, () -> s.get("/api/model"));
        // the model is still usable: the server did not close it
        assertEquals(1, ediff.generate(Request.prompt(PROMPT).seed(1).steps(2).build()).samples().size());
    }

    @Test
    void thePageAndItsScriptsAreServedAsResourcesWithNothingFromElsewhere() throws Exception {
        HttpResponse<String> page = http.raw(HttpRequest.newBuilder(http.uri("/")));
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<canvas id=\"canvas\""));
        assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'self'"));
        HttpResponse<String> js = http.raw(HttpRequest.newBuilder(http.uri("/app.js")));
        assertEquals(200, js.statusCode());
        assertTrue(js.headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
        // nothing is loaded from elsewhere: the page works offline
        for (String res : List.of("/", "/app.js", "/app.css")) {
            String body = http.raw(HttpRequest.newBuilder(http.uri(res))).body();
            assertFalse(body.matches("(?s).*(src|href)=\"(https?:)?//.*"), res);
            assertFalse(body.contains("http://") || body.contains("https://"), res);
        }
    }

    static void awaitProgress(ServerFixture s, String id) throws Exception {
        long end = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < end) {
            if (s.get("/api/jobs/" + id).json().has("progress")) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("job " + id + " reported no progress");
    }

    static void awaitState(ServerFixture s, String id, String state) throws Exception {
        long end = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < end) {
            if (s.get("/api/jobs/" + id).json().get("state").asText().equals(state)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("job " + id + " never reached " + state);
    }

    static int[] pixels(BufferedImage img) {
        return img.getRGB(0, 0, img.getWidth(), img.getHeight(), null, 0, img.getWidth());
    }
}
