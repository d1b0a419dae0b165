package dev.ediff.core;

import dev.ediff.api.Conditioning;
import dev.ediff.api.Denoiser;
import dev.ediff.api.Expert;
import dev.ediff.api.Generation;
import dev.ediff.api.NoiseInterval;
import dev.ediff.api.NoiseSchedule;
import dev.ediff.api.Request;
import dev.ediff.api.Sample;
import dev.ediff.api.Sampler;
import dev.ediff.api.TensorShape;
import dev.ediff.api.TextEncoder;
import dev.ediff.api.TextEncoding;
import dev.ediff.core.sampling.Samplers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The stage extensions for latent models (diffusers folders): a decoder applied to every sample,
 * the sampler restarted where the routing tree hands over to another expert, a schedule that
 * chooses its levels by sampler and its start scale, and a text encoder's own negative branch.
 */
class LatentStageTest {

    private static final TensorShape SHAPE = TensorShape.of(1, 2, 2);
    private static final double[] SIGMAS = {8, 4, 2, 1, 0.5, 0.25, 0};
    private static final double BOUNDARY = 1.5;

    /** Unit-variance Gaussian data with mean m: D(x) = (x + m sigma^2) / (1 + sigma^2), m differing per expert. */
    private static Expert gaussian(String name, double mean) {
        return new Expert() {
            @Override
            public void denoise(double[] x, TensorShape shape, double sigma, Conditioning cond, double[] out) {
                for (int i = 0; i < x.length; i++) {
                    out[i] = (x[i] + mean * sigma * sigma) / (1 + sigma * sigma);
                }
            }

            @Override
            public String name() {
                return name;
            }
        };
    }

    private static EDiff pipeline(boolean restart, Stage.Decoder decoder, NoiseSchedule schedule) {
        RoutingTree tree = RoutingTree.builder().expert(NoiseInterval.atLeast(BOUNDARY), gaussian("high", 1.0))
                .expert(NoiseInterval.below(BOUNDARY), gaussian("low", -0.5)).build();
        Stage.Builder b = Stage.builder("base", tree, SHAPE).schedule(schedule).restartPerExpert(restart);
        if (decoder != null) {
            b.decoder(decoder);
        }
        return EDiff.builder().stage(b.build()).build();
    }

    private static final double[] NOISE = {0.3, -1.2, 0.7, 2.0};

    private static Request request(Sampler sampler) {
        return Request.prompt("").seed(1).sampler(sampler, SIGMAS.length - 1).initialNoise(NOISE).build();
    }

    /** The sampler run by hand over sigmas[from..to] on the same experts. */
    private static void run(Sampler sampler, double[] x, int from, int to) {
        Expert high = gaussian("high", 1.0);
        Expert low = gaussian("low", -0.5);
        Denoiser d = (xs, sigma, out) -> (sigma >= BOUNDARY ? high : low).denoise(xs, SHAPE, sigma, Conditioning.NONE, out);
        sampler.sample(d, x, java.util.Arrays.copyOfRange(SIGMAS, from, to + 1), null, (i, s, xi, den) -> { });
    }

    @Test
    void restartPerExpertRunsTheSamplerAfreshAtTheHandOver() {
        Sampler dpm = Samplers.dpmSolverPP2M();
        double[] restarted = NOISE.clone();
        double[] continued = NOISE.clone();
        for (int i = 0; i < 4; i++) {
            restarted[i] *= SIGMAS[0];
            continued[i] *= SIGMAS[0];
        }
        run(dpm, restarted, 0, 3); // sigma 2 is the last level of "high"
        run(dpm, restarted, 3, SIGMAS.length - 1);
        run(dpm, continued, 0, SIGMAS.length - 1);
        List<Integer> steps = new ArrayList<>();
        try (EDiff on = pipeline(true, null, n -> SIGMAS.clone()); EDiff off = pipeline(false, null, n -> SIGMAS.clone())) {
            Generation g = on.generate(Request.prompt("").seed(1).sampler(dpm, SIGMAS.length - 1).initialNoise(NOISE)
                    .onStep((i, s, x, d) -> steps.add(i)).build());
            assertArrayEquals(restarted, g.samples().get(0).data(), 1e-12, "two runs, as two pipelines");
            assertArrayEquals(continued, off.generate(request(dpm)).samples().get(0).data(), 1e-12, "one run");
            assertEquals(List.of(0, 1, 2, 3, 4, 5), steps, "step indices continue across the restart");
            double gap = Math.abs(restarted[0] - continued[0]);
            assertTrue(gap > 1e-6, "the multistep history matters here: " + gap);
            // a single-step sampler does not care
            assertArrayEquals(off.generate(request(Samplers.euler())).samples().get(0).data(),
                    on.generate(request(Samplers.euler())).samples().get(0).data(), 0.0);
        }
    }

    @Test
    void aDecoderTurnsEverySampleIntoTheStageOutput() {
        Stage.Decoder twice = s -> {
            double[] d = new double[2 * s.data().length];
            for (int i = 0; i < d.length; i++) {
                d[i] = 10 * s.data()[i / 2];
            }
            return new Sample(s.seed(), new TensorShape(1, 1, 2, 4), d);
        };
        try (EDiff plain = pipeline(false, null, n -> SIGMAS.clone()); EDiff latent = pipeline(false, twice, n -> SIGMAS.clone())) {
            Sample z = plain.generate(request(Samplers.euler())).samples().get(0);
            Sample px = latent.generate(request(Samplers.euler())).samples().get(0);
            assertEquals(new TensorShape(1, 1, 2, 4), px.shape());
            assertArrayEquals(twice.decode(z).data(), px.data(), 0.0);
            assertTrue(latent.stages().get(0).decoder().isPresent());
        }
    }

    @Test
    void theScheduleChoosesLevelsBySamplerAndItsStartScale() {
        NoiseSchedule bySampler = new NoiseSchedule() {
            @Override
            public double[] sigmas(int steps) {
                return SIGMAS.clone();
            }

            @Override
            public double[] sigmas(int steps, Sampler sampler) {
                return sampler.name().equals("euler") ? new double[] {6, 3, 1.5, 1, 0.5, 0.2, 0} : SIGMAS.clone();
            }

            @Override
            public double initialNoiseScale(double[] sigmas, Sampler sampler) {
                return Math.sqrt(sigmas[0] * sigmas[0] + 1);
            }
        };
        List<double[]> first = new ArrayList<>();
        try (EDiff e = pipeline(false, null, bySampler)) {
            Generation g = e.generate(Request.prompt("").seed(1).sampler(Samplers.euler(), 6).initialNoise(NOISE)
                    .onStep((i, s, x, d) -> {
                        if (i == 0) {
                            first.add(x.clone());
                        }
                    }).build());
            assertArrayEquals(new double[] {6, 3, 1.5, 1, 0.5, 0.2, 0}, g.stages().get(0).sigmas(), 0.0);
            for (int i = 0; i < NOISE.length; i++) {
                assertEquals(NOISE[i] * Math.sqrt(37), first.get(0)[i], 1e-12);
            }
            String scale = g.parameters().get("base.noise_scale");
            assertEquals(Math.sqrt(37), Double.parseDouble(scale), 0.0);
        }
    }

    @Test
    void theNegativeBranchComesFromTheEncodersOwnRule() {
        List<String> negatives = new ArrayList<>();
        TextEncoder enc = new TextEncoder() {
            @Override
            public String role() {
                return "clip";
            }

            @Override
            public TextEncoding encode(String text) {
                return new TextEncoding(Conditioning.of("c", dev.ediff.api.Tensor.filled(text.length(), 1, 1)), 1, "");
            }

            @Override
            public TextEncoding encodeNegative(String text) {
                negatives.add(text);
                return new TextEncoding(Conditioning.of("c", dev.ediff.api.Tensor.filled(-1, 1, 1)), 1, "");
            }

            @Override
            public TextEncoding off() {
                return new TextEncoding(Conditioning.of("c", dev.ediff.api.Tensor.filled(0, 1, 1)), 0, "");
            }
        };
        List<Float> seen = new ArrayList<>();
        Expert probe = (x, shape, sigma, cond, out) -> {
            for (int b = 0; b < shape.batch(); b++) {
                seen.add(cond.get("c").orElseThrow().get(b));
            }
            System.arraycopy(x, 0, out, 0, x.length);
        };
        try (EDiff e = EDiff.builder(RoutingTree.single(probe), SHAPE).textEncoder(enc).build()) {
            e.generate(Request.prompt("abc").seed(1).sampler(Samplers.euler(), 1).guidance(2.0).build());
        }
        assertEquals(List.of(""), negatives, "no negative prompt: the encoder is asked for the empty one");
        assertEquals(List.of(-1f, 3f), seen, "[negative, positive] rows");
    }

    /** A schedule that ends at a nonzero sigma: no usable sigma list. */
    private static final NoiseSchedule NOT_ENDING_IN_ZERO = steps -> new double[] {8, 4};

    @Test
    void aStagesOwnUnusableScheduleIsTheModelsFaultNotTheRequests() {
        try (EDiff ediff = pipeline(false, null, NOT_ENDING_IN_ZERO)) {
            Request r = Request.prompt("").seed(1).steps(1).build();
            dev.ediff.api.EDiffException e = org.junit.jupiter.api.Assertions.assertThrows(dev.ediff.api.EDiffException.class,
                    () -> ediff.generate(r));
            assertTrue(e.getMessage().startsWith("stage 'base': the model's noise schedule gives no usable sigma list for 1 steps"),
                    e.getMessage());
        }
        // the same schedule given by the caller stays the caller's argument
        try (EDiff ediff = pipeline(false, null, dev.ediff.core.schedule.Schedules.edm())) {
            Request r = Request.prompt("").seed(1).steps(1).schedule(NOT_ENDING_IN_ZERO).build();
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> ediff.generate(r));
        }
    }
}
