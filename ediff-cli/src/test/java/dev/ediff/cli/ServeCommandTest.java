package dev.ediff.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ediff serve} opens the default model, serves the canvas and stops when its thread is interrupted. */
class ServeCommandTest {

    @Test
    void servesThePageAndTheModelUntilInterrupted() throws Exception {
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(16);
        PrintStream out = new PrintStream(new LineSink(lines), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
        AtomicInteger code = new AtomicInteger(-1);
        Thread serving = new Thread(() -> code.set(Main.run(new String[] {"serve", "--port", "0"},
                new ByteArrayInputStream(new byte[0]), out, err, false)), "serve-under-test");
        serving.start();
        String started = lines.poll(120, TimeUnit.SECONDS);
        assertNotNull(started, "serve printed no start line");
        Matcher m = Pattern.compile("at (http://\\S+/)").matcher(started);
        assertTrue(m.find(), started);
        URI base = URI.create(m.group(1));
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpResponse<String> page = client.send(HttpRequest.newBuilder(base).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<canvas"), "the page holds the canvas");
        HttpResponse<String> model = client.send(HttpRequest.newBuilder(base.resolve("api/model")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, model.statusCode());
        assertTrue(model.body().contains("mini-ediff"), model.body());
        serving.interrupt();
        serving.join(30_000);
        assertEquals(0, code.get(), "an interrupted serve stops cleanly");
    }

    @Test
    void aPortOutOfRangeIsBadUsage() {
        Cli r = Cli.run("serve", "--port", "70000");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--port must be in 0..65535"), r.toString());
    }

    /** Hands each complete line written to it to a queue. */
    private static final class LineSink extends OutputStream {
        private final BlockingQueue<String> lines;
        private final StringBuilder line = new StringBuilder();

        LineSink(BlockingQueue<String> lines) {
            this.lines = lines;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                lines.offer(line.toString());
                line.setLength(0);
            } else {
                line.append((char) b);
            }
        }
    }
}
