// Lucene's CJKAnalyzer (the chain Elasticsearch's `cjk` analyzer is built from) as an oracle for
// search/analysis.py: one base64 UTF-8 text per input line; one output line per text, its tokens as
// term<TAB>position increment<TAB>start<TAB>end, tokens separated by U+0001.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.cjk.CJKAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.analysis.tokenattributes.OffsetAttribute;
import org.apache.lucene.analysis.tokenattributes.PositionIncrementAttribute;

public class CjkOracle {
    public static void main(String[] args) throws Exception {
        CJKAnalyzer analyzer = new CJKAnalyzer();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        String line;
        while ((line = in.readLine()) != null) {
            String text = new String(Base64.getDecoder().decode(line), StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder();
            try (TokenStream ts = analyzer.tokenStream("f", text)) {
                CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
                PositionIncrementAttribute inc = ts.addAttribute(PositionIncrementAttribute.class);
                OffsetAttribute off = ts.addAttribute(OffsetAttribute.class);
                ts.reset();
                boolean first = true;
                while (ts.incrementToken()) {
                    if (!first) sb.append('\u0001');
                    first = false;
                    sb.append(term.toString()).append('\t').append(inc.getPositionIncrement())
                      .append('\t').append(off.startOffset()).append('\t').append(off.endOffset());
                }
                ts.end();
            }
            out.println(sb);
        }
        out.flush();
    }
}
