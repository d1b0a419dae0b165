package dev.ediff.serve;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command's arguments: bad usage exits 2 with one line naming the argument, before any model is opened. */
class ServeMainTest {

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ServeMain.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badArgumentsAreUsageErrorsNamingThem() {
        Run port = run("--port", "eighty");
        assertEquals(2, port.code());
        assertTrue(port.err().contains("--port must be a whole number"), port.err());
        Run range = run("--port", "70000");
        assertEquals(2, range.code());
        assertTrue(range.err().contains("0..65535"), range.err());
        Run unknown = run("--colour", "red");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown argument '--colour'"), unknown.err());
        Run missing = run("--model");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--model needs a value"), missing.err());
        Run help = run("--help");
        assertEquals(0, help.code());
        assertTrue(help.out().startsWith("usage: ediff serve"), help.out());
    }

    @Test
    void aFolderThatIsNotAModelFailsWithOneLine() {
        Run r = run("--model", "/nonexistent/ediff-model", "--port", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("ediff serve: ") && r.err().contains("/nonexistent/ediff-model"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void servesTheDefaultModelUntilInterruptedThenStopsListening() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] code = {-1};
        Thread t = new Thread(() -> code[0] = ServeMain.serve((java.nio.file.Path) null, "127.0.0.1", 0, Limits.defaults(),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
        t.start();
        long end = System.nanoTime() + 60_000_000_000L;
        java.util.regex.Matcher m;
        do {
            Thread.sleep(50);
            m = java.util.regex.Pattern.compile("at (http://127\\.0\\.0\\.1:\\d+/)").matcher(out.toString(StandardCharsets.UTF_8));
        } while (!m.find() && System.nanoTime() < end && t.isAlive());
        String url = m.group(1);
        ServerFixture http = new ServerFixture(java.net.URI.create(url));
        assertEquals(200, http.get("/api/model").status());
        t.interrupt();
        t.join(30_000);
        assertEquals(0, code[0], err.toString(StandardCharsets.UTF_8));
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> http.get("/api/model"));
    }

    @Test
    void aPortInUseFailsWithOneLineAndExitCode1() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Run r = run("--port", Integer.toString(taken.getLocalPort()));
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().startsWith("ediff serve: cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
