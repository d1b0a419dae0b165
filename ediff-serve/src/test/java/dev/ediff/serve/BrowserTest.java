package dev.ediff.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ediff.api.Request;
import dev.ediff.core.EDiff;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The page in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}; {@code .ci/run}
 * installs them): type a prompt, pick a phrase, paint a stroke with pointer events, generate, and
 * check what the server received; cancel a long run. Fails, not skips, when Chromium is missing.
 *
 * <p>Screenshots go to {@code target/screenshots}, and also to the folder named by the system property
 * {@code ediff.serve.screenshots} when set (the README's are made with
 * {@code -Dediff.serve.screenshots=ediff-serve/docs}).
 */
class BrowserTest {

    static final String PROMPT = "a small red circle above a large blue square";
    static final int BRUSH = 36;
    static EDiff ediff;
    static EDiffServer server;
    static ServerFixture http;
    static ChromeDriver driver;
    static Path profile;

    @BeforeAll
    static void start() throws Exception {
        File chromium = executable("ediff.chromium", "/usr/bin/chromium", "chromium");
        File chromedriver = executable("ediff.chromedriver", "/usr/bin/chromedriver", "chromium-driver");
        ediff = EDiff.openDefault();
        server = EDiffServer.start(ediff, "127.0.0.1", 0, Limits.builder().maxSteps(Request.MAX_STEPS).build());
        http = new ServerFixture(server.uri());
        profile = Files.createTempDirectory("ediff-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(chromedriver)
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
        driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(10));
    }

    /** The browser or driver binary, or a failure that says how to install it (never a silent skip). */
    static File executable(String property, String path, String debianPackage) {
        File f = new File(System.getProperty(property, path));
        if (!f.canExecute()) {
            throw new IllegalStateException(f + " is missing: the browser test needs Debian's chromium and chromium-driver"
                    + " (apt-get install -y chromium chromium-driver, as .ci/run does), or -D" + property + "=PATH"
                    + " (package " + debianPackage + ")");
        }
        return f;
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.close();
        }
        if (ediff != null) {
            ediff.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(50));
    }

    /** Loads the page and types the prompt; waits for its words. */
    void open() {
        driver.get(server.uri().toString());
        waitUpTo(20).until(d -> d.findElements(By.cssSelector("#words .word")).size() > 0);
        WebElement prompt = driver.findElement(By.id("prompt"));
        prompt.clear();
        prompt.sendKeys(PROMPT);
        // the words follow the typing (debounced): wait for those of the whole prompt
        waitUpTo(10).until(d -> {
            List<WebElement> w = d.findElements(By.cssSelector("#words .word"));
            return w.size() == 9 && w.get(8).getText().startsWith("square");
        });
    }

    /** Selects words {@code first..last} (click, shift-click) and adds them as the active phrase. */
    void pick(int first, int last, String phrase) {
        List<WebElement> words = driver.findElements(By.cssSelector("#words .word"));
        // each word shows its tokens as the tokenizers see them
        assertTrue(words.get(first).getText().contains("clip"), words.get(first).getText());
        words.get(first).click();
        // a click redraws the words (the selection is shown on them): find the last one again
        WebElement end = driver.findElements(By.cssSelector("#words .word")).get(last);
        new Actions(driver).keyDown(Keys.SHIFT).click(end).keyUp(Keys.SHIFT).perform();
        assertEquals("selected: \"" + phrase + "\"", driver.findElement(By.id("selection")).getText());
        driver.findElement(By.id("add-phrase")).click();
        // the phrase list is redrawn when the phrase's token spans arrive: find its parts afresh each time
        // (a found element can go stale between finding and reading it on a busy machine)
        String name = waitUpTo(10).ignoring(StaleElementReferenceException.class).until(d -> {
            List<WebElement> n = d.findElements(By.cssSelector("#phrases li.active .name"));
            return n.isEmpty() || !n.get(0).isDisplayed() ? null : n.get(0).getText();
        });
        assertEquals(phrase, name);
        waitUpTo(10).ignoring(StaleElementReferenceException.class)
                .until(d -> d.findElement(By.cssSelector("#phrases li.active .spans")).getText().contains("clip ["));
    }

    /** A horizontal stroke through the canvas at relative height {@code y}, from {@code x0} to {@code x1}. */
    void stroke(double x0, double x1, double y) {
        WebElement canvas = driver.findElement(By.id("canvas"));
        int w = canvas.getSize().getWidth();
        int h = canvas.getSize().getHeight();
        // Selenium offsets are from the element's centre
        int oy = (int) Math.round((y - 0.5) * h);
        Actions a = new Actions(driver).moveToElement(canvas, (int) Math.round((x0 - 0.5) * w), oy).clickAndHold();
        for (int i = 1; i <= 8; i++) {
            a.moveToElement(canvas, (int) Math.round((x0 + (x1 - x0) * i / 8 - 0.5) * w), oy);
        }
        a.release().perform();
    }

    void settings(int seed, int steps) {
        WebElement s = driver.findElement(By.id("seed"));
        s.clear();
        s.sendKeys(Integer.toString(seed));
        WebElement st = driver.findElement(By.id("steps"));
        st.clear();
        st.sendKeys(Integer.toString(steps));
        new Select(driver.findElement(By.id("sampler"))).selectByValue("euler");
        WebElement b = driver.findElement(By.id("brush"));
        ((JavascriptExecutor) driver).executeScript("arguments[0].value = arguments[1]", b, Integer.toString(BRUSH));
    }

    @Test
    void paintTwoPhrasesGenerateAndTheServerGetsEachMaskWhereItWasPainted() throws Exception {
        open();
        settings(7, 6);
        WebElement canvas = driver.findElement(By.id("canvas"));
        assertEquals(320, canvas.getSize().getWidth());
        assertEquals(320, canvas.getSize().getHeight()); // the default model's output is square
        pick(2, 3, "red circle");
        stroke(0.25, 0.75, 0.3);
        pick(7, 8, "blue square");
        stroke(0.3, 0.7, 0.75);
        WebElement weight = driver.findElement(By.cssSelector("#phrases li.active input[type=number]"));
        weight.clear();
        weight.sendKeys("0.6", Keys.TAB);
        screenshot("paint.png");

        driver.findElement(By.id("generate")).click();
        waitUpTo(60).until(d -> "done".equals(d.findElement(By.tagName("body")).getDomAttribute("data-state")));
        WebElement img = waitUpTo(10).until(ExpectedConditions.visibilityOfElementLocated(By.cssSelector(".result img")));
        waitUpTo(10).until(d -> ((Number) ((JavascriptExecutor) d).executeScript(
                "return arguments[0].complete ? arguments[0].naturalWidth : 0", img)).intValue() > 0);
        JsonNode model = http.get("/api/model").json();
        assertEquals(model.get("width").asLong(),
                ((Number) ((JavascriptExecutor) driver).executeScript("return arguments[0].naturalWidth", img)).longValue());

        String id = driver.findElement(By.tagName("body")).getDomAttribute("data-job");
        JsonNode job = http.get("/api/jobs/" + id).json();
        assertEquals("done", job.get("state").asText());
        assertEquals("6", job.get("parameters").get("steps").asText());
        assertEquals("7", job.get("parameters").get("seed").asText());
        assertEquals(2, job.get("paints").size());
        checkStroke(job.get("paints").get(0), "red circle", 0.25, 0.75, 0.3);
        checkStroke(job.get("paints").get(1), "blue square", 0.3, 0.7, 0.75);
        assertEquals(0.4, job.get("paints").get(0).get("weight").asDouble());
        assertEquals(0.6, job.get("paints").get(1).get("weight").asDouble());

        WebElement download = driver.findElement(By.cssSelector(".result a.download"));
        assertEquals("ediff-7.png", download.getDomAttribute("download"));
        HttpResponse<String> file = http.raw(HttpRequest.newBuilder(java.net.URI.create(download.getDomProperty("href"))));
        assertEquals(200, file.statusCode());
        assertEquals("attachment; filename=\"ediff-7.png\"", file.headers().firstValue("Content-Disposition").orElse(""));
        assertTrue(driver.findElement(By.cssSelector(".result dl")).getText().contains("red circle @ 0.40"));
        screenshot("result.png");
    }

    @Test
    void cancelStopsARunningGeneration() throws Exception {
        open();
        settings(3, Request.MAX_STEPS);
        pick(2, 3, "red circle");
        stroke(0.2, 0.4, 0.5);
        stroke(0.7, 0.8, 0.2); // a slip of the brush, erased again:
        driver.findElement(By.id("eraser")).click();
        stroke(0.7, 0.8, 0.2);
        driver.findElement(By.id("eraser")).click();
        driver.findElement(By.id("generate")).click();
        waitUpTo(30).until(d -> d.findElement(By.id("progress")).getText().contains("step"));
        screenshot("progress.png");
        driver.findElement(By.id("cancel")).click();
        waitUpTo(20).until(d -> "cancelled".equals(d.findElement(By.tagName("body")).getDomAttribute("data-state")));
        assertTrue(driver.findElement(By.id("message")).getText().startsWith("cancelled after"));
        String id = driver.findElement(By.tagName("body")).getDomAttribute("data-job");
        JsonNode job = http.get("/api/jobs/" + id).json();
        assertEquals("cancelled", job.get("state").asText());
        assertTrue(job.get("progress").get("step").asInt() < Request.MAX_STEPS, job.toString());
        assertEquals(0, job.get("images").size());
        checkStroke(job.get("paints").get(0), "red circle", 0.2, 0.4, 0.5);
        assertTrue(driver.findElement(By.id("generate")).isEnabled(), "Generate is enabled again after a cancel");
    }

    @Test
    void aBadFieldIsShownAndMarkedOnThePage() {
        open();
        settings(1, 0);
        driver.findElement(By.id("generate")).click();
        waitUpTo(10).until(d -> d.findElement(By.id("message")).getText()
                .startsWith("steps: steps must be in 1.." + Request.MAX_STEPS));
        assertTrue(driver.findElement(By.id("steps")).getDomAttribute("class").contains("bad"));
        settings(1, 4);
        pick(7, 8, "blue square"); // but nothing painted for it
        driver.findElement(By.id("generate")).click();
        waitUpTo(10).until(d -> d.findElement(By.id("message")).getText().startsWith("paints[0].mask: nothing is painted"));
        assertTrue(driver.findElement(By.cssSelector("#phrases li[data-index='0']")).getDomAttribute("class").contains("bad"));
        assertTrue(driver.findElements(By.cssSelector(".bad")).size() == 1, "only the bad field is marked");
    }

    /** The mask the server received covers the stroke: its box, and its area (a band with round caps). */
    static void checkStroke(JsonNode paint, String phrase, double x0, double x1, double y) {
        assertEquals(phrase, paint.get("phrase").asText());
        double r = BRUSH / 2.0 / 320;
        double[] expected = {x0 - r, y - r, x1 + r, y + r};
        double cell = 1.0 / GenerateForm.MEASURE;
        for (int i = 0; i < 4; i++) {
            assertEquals(expected[i], paint.get("box").get(i).asDouble(), 2 * cell, "box[" + i + "] of " + paint);
        }
        assertEquals((x1 - x0) * 2 * r + Math.PI * r * r, paint.get("coverage").asDouble(), 0.01, paint.toString());
    }

    static void screenshot(String name) throws Exception {
        Path shot = driver.getScreenshotAs(OutputType.FILE).toPath();
        Path dir = Path.of("target", "screenshots");
        Files.createDirectories(dir);
        Files.copy(shot, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        String keep = System.getProperty("ediff.serve.screenshots");
        if (keep != null && !keep.isBlank()) {
            Path k = Path.of(keep);
            Files.createDirectories(k);
            Files.copy(shot, k.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
        Files.deleteIfExists(shot);
    }
}
